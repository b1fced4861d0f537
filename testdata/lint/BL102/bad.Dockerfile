FROM node:20 AS build
FROM nginx:latest
