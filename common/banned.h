/* Functions we do not use (unbounded, locale- or global-state dependent).
 * Included last by common/common.h, after system headers. */
#ifndef BERTH_BANNED_H
#define BERTH_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_berth

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef gmtime
#define gmtime(x) BANNED(gmtime)
#undef localtime
#define localtime(x) BANNED(localtime)

#endif
