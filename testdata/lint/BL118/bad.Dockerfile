FROM registry.example.com/base/app:1.0
FROM evil.example.net/app:1.0
