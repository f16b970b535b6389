"""Names a C array's symbol must not take: keywords and what system headers declare.

Used by ``kwbin c-array``.  The generated header is compiled next to
``kwbin.h`` (which includes stddef.h, stdint.h, stdio.h, stdlib.h, string.h
and, on POSIX, fcntl.h, sys/mman.h, sys/stat.h and unistd.h) and next to
whatever else the program includes, so a symbol equal to one of their names
is a redefinition or is replaced by a macro.  Names without a lowercase
letter are refused wholesale (they are the macros' namespace), so only
lowercase names need listing here.  tests/test_cli_safety.py checks the
lists against the headers of the machine it runs on.
"""

from __future__ import annotations

#: C89 to C23 keywords, including the C23 spellings of old macros (bool, alignas, ...).
C_KEYWORDS = frozenset(
    """
    auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic
    _Imaginary _Noreturn _Static_assert _Thread_local _BitInt _Decimal32 _Decimal64 _Decimal128
    alignas alignof bool constexpr false nullptr static_assert thread_local true typeof
    typeof_unqual
    """.split()
)

#: C++ keywords and alternative tokens (C++98 to C++23): the header also compiles as C++.
CPP_KEYWORDS = frozenset(
    """
    and and_eq asm bitand bitor catch char8_t char16_t char32_t class co_await co_return
    co_yield compl concept const_cast consteval constinit decltype delete dynamic_cast explicit
    export friend mutable namespace new noexcept not not_eq operator or or_eq private protected
    public reinterpret_cast requires static_cast template this throw try typeid typename using
    virtual wchar_t xor xor_eq
    """.split()
)

#: Lowercase macros and objects of the standard C and POSIX headers.
LIBRARY_OBJECTS = frozenset(
    """
    assert errno stdin stdout stderr offsetof environ optarg opterr optind optopt signgam
    math_errhandling fpclassify isfinite isinf isnan isnormal signbit isgreater isgreaterequal
    isless islessequal islessgreater isunordered unreachable alloca linux unix i386 complex
    imaginary noreturn va_list va_start va_arg va_end va_copy jmp_buf setjmp longjmp
    st_atime st_ctime st_mtime major minor makedev be16toh be32toh be64toh htobe16 htobe32
    htobe64 htole16 htole32 htole64 le16toh le32toh le64toh u_char u_int u_long u_short uint
    ulong ushort memory_order kill_dependency once_flag call_once L_tmpnam L_ctermid P_tmpdir
    daylight timezone tzname fd_mask fd_set
    """.split()
)

#: Functions of the standard C headers kwbin.h includes and a program is likely to (ctype.h,
#: time.h, signal.h, locale.h), and of glibc's stdio.h, stdlib.h, string.h, math.h, fcntl.h,
#: sys/mman.h, sys/stat.h and unistd.h, and what glibc's time.h, signal.h, locale.h and ctype.h add
#: (gcc -aux-info, -std=gnu11).
LIBRARY_FUNCTIONS = frozenset(
    """
    isalnum isalpha isblank iscntrl isdigit isgraph islower isprint ispunct isspace isupper
    isxdigit tolower toupper time clock difftime mktime asctime ctime gmtime localtime strftime
    timespec_get signal raise setlocale localeconv imaxabs imaxdiv strtoimax strtoumax
    strlcpy strlcat memset_s
    asctime_r ctime_r gmtime_r localtime_r nanosleep timegm timelocal tzset dysize strftime_l
    clock_getcpuclockid clock_getres clock_gettime clock_nanosleep clock_settime timer_create
    timer_delete timer_getoverrun timer_gettime timer_settime duplocale freelocale newlocale
    uselocale isascii toascii isalnum_l isalpha_l isblank_l iscntrl_l isdigit_l isgraph_l
    islower_l isprint_l ispunct_l isspace_l isupper_l isxdigit_l tolower_l toupper_l kill killpg
    gsignal ssignal psiginfo psignal sigaction sigaddset sigaltstack sigblock sigdelset
    sigemptyset sigfillset siggetmask siginterrupt sigismember sigpending sigprocmask sigqueue
    sigreturn sigsetmask sigstack sigsuspend sigtimedwait sigwait sigwaitinfo
    a64l abort abs access acct acos acosf acosh acoshf acoshl acosl alarm aligned_alloc alloca
    arc4random arc4random_buf arc4random_uniform asin asinf asinh asinhf asinhl asinl at_quick_exit
    atan atan2 atan2f atan2l atanf atanh atanhf atanhl atanl atexit atof atoi atol atoll bcmp
    bcopy brk bsearch bzero calloc cbrt cbrtf cbrtl ceil ceilf ceill chdir chmod chown chroot
    clearenv clearerr clearerr_unlocked close closefrom confstr copysign copysignf copysignl cos
    cosf cosh coshf coshl cosl creat crypt ctermid daemon div dprintf drand48 drand48_r drem dremf
    dreml dup dup2 ecvt ecvt_r endusershell erand48 erand48_r erf erfc erfcf erfcl erff erfl execl
    execle execlp execv execve execvp exit exp exp2 exp2f exp2l expf expl explicit_bzero expm1
    expm1f expm1l fabs fabsf fabsl faccessat fchdir fchmod fchmodat fchown fchownat fclose fcntl
    fcvt fcvt_r fdatasync fdim fdimf fdiml fdopen feof feof_unlocked ferror ferror_unlocked fexecve
    fflush fflush_unlocked ffs ffsl ffsll fgetc fgetc_unlocked fgetpos fgets fileno fileno_unlocked
    finite finitef finitel flockfile floor floorf floorl fma fmaf fmal fmax fmaxf fmaxl fmemopen
    fmin fminf fminl fmod fmodf fmodl fopen fork fpathconf fprintf fputc fputc_unlocked fputs fread
    fread_unlocked free freopen frexp frexpf frexpl fscanf fseek fseeko fsetpos fstat fstatat
    fsync ftell ftello ftruncate ftrylockfile funlockfile futimens fwrite fwrite_unlocked gamma
    gammaf gammal gcvt getc getc_unlocked getchar getchar_unlocked getcwd getdelim getdomainname
    getdtablesize getegid getentropy getenv geteuid getgid getgroups gethostid gethostname getline
    getloadavg getlogin getlogin_r getopt getpagesize getpass getpgid getpgrp getpid getppid gets
    getsid getsubopt getuid getusershell getw getwd hypot hypotf hypotl ilogb ilogbf ilogbl index
    initstate initstate_r isatty isinf isinff isinfl isnan isnanf isnanl j0 j0f j0l j1 j1f j1l jn
    jnf jnl jrand48 jrand48_r l64a labs lchmod lchown lcong48 lcong48_r ldexp ldexpf ldexpl ldiv
    lgamma lgamma_r lgammaf lgammaf_r lgammal lgammal_r link linkat llabs lldiv llrint llrintf llrintl
    llround llroundf llroundl lockf log log10 log10f log10l log1p log1pf log1pl log2 log2f log2l logb
    logbf logbl logf logl lrand48 lrand48_r lrint lrintf lrintl lround lroundf lroundl lseek lstat
    madvise malloc mblen mbstowcs mbtowc memccpy memchr memcmp memcpy memmove memset mincore mkdir
    mkdirat mkdtemp mkfifo mkfifoat mknod mknodat mkstemp mkstemps mktemp mlock mlockall mmap modf
    modff modfl mprotect mrand48 mrand48_r msync munlock munlockall munmap nan nanf nanl nearbyint
    nearbyintf nearbyintl nextafter nextafterf nextafterl nexttoward nexttowardf nexttowardl nice
    nrand48 nrand48_r on_exit open open_memstream openat pathconf pause pclose perror pipe popen
    posix_fadvise posix_fallocate posix_madvise posix_memalign pow powf powl pread printf profil
    pselect putc putc_unlocked putchar putchar_unlocked putenv puts putw pwrite qecvt qecvt_r qfcvt
    qfcvt_r qgcvt qsort quick_exit rand rand_r random random_r read readlink readlinkat realloc
    reallocarray realpath remainder remainderf remainderl remove remquo remquof remquol rename
    renameat revoke rewind rindex rint rintf rintl rmdir round roundf roundl rpmatch sbrk scalb
    scalbf scalbl scalbln scalblnf scalblnl scalbn scalbnf scalbnl scanf seed48 seed48_r select
    setbuf setbuffer setdomainname setegid setenv seteuid setgid sethostid sethostname setlinebuf
    setlogin setpgid setpgrp setregid setreuid setsid setstate setstate_r setuid setusershell setvbuf
    shm_open shm_unlink significand significandf significandl sin sinf sinh sinhf sinhl sinl sleep
    snprintf sprintf sqrt sqrtf sqrtl srand srand48 srand48_r srandom srandom_r sscanf stat stpcpy
    stpncpy strcasecmp strcasecmp_l strcat strchr strcmp strcoll strcoll_l strcpy strcspn strdup
    strerror strerror_l strerror_r strlen strncasecmp strncasecmp_l strncat strncmp strncpy strndup
    strnlen strpbrk strrchr strsep strsignal strspn strstr strtod strtof strtok strtok_r strtol
    strtold strtoll strtoq strtoul strtoull strtouq strxfrm strxfrm_l symlink symlinkat sync syscall
    sysconf system tan tanf tanh tanhf tanhl tanl tcgetpgrp tcsetpgrp tempnam tgamma tgammaf tgammal
    tmpfile tmpnam tmpnam_r trunc truncate truncf truncl ttyname ttyname_r ttyslot ualarm umask
    ungetc unlink unlinkat unsetenv usleep utimensat valloc vdprintf vfork vfprintf vfscanf vhangup
    vprintf vscanf vsnprintf vsprintf vsscanf wcstombs wctomb write y0 y0f y0l y1 y1f y1l yn ynf ynl
    """.split()
)

#: Prefixes of kwbin.h's and kwbin_nn.h's own names (checked case-insensitively), of C11
#: library families (atomic_*, thrd_*, ...) and of POSIX struct fields that are macros (si_*).
RESERVED_PREFIXES = (
    "kwb_", "kwbin_", "kwnn_", "atomic_", "thrd_", "mtx_", "cnd_", "tss_", "stdc_", "ckd_",
    "pthread_", "si_", "sa_", "sigev_",
)  # fmt: skip
