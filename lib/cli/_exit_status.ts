// The exit statuses of the command line. Courier's are kept where Courier has one (contract 1);
// the rest follow sysexits.h so that scripts can tell "the domain has a problem" from "this
// machine has one":
//
// | Code | Constant           | When                                                         |
// |------|--------------------|--------------------------------------------------------------|
// | 0    | `EXIT_OK`          | success; `--help`, `--version`; `--batch`: every domain ok   |
// | 1    | `EXIT_FAILURE`     | as Courier: any lookup failure line, usage error, `Invalid   |
// |      |                    | option.`, `--sts` without a policy; also (D10) a             |
// |      |                    | `--sts-cache-*` that cannot write `.cache_size`, and the run |
// |      |                    | deadline (D4); `--batch`: any domain not ok                  |
// | 66   | `EXIT_NOINPUT`     | `--batch FILE`: FILE cannot be opened                        |
// | 70   | `EXIT_SOFTWARE`    | internal bug: an exception no layer expected (never a crash) |
// | 74   | `EXIT_IOERR`       | stdout or stderr cannot be written (closed pipe, full disk); |
// |      |                    | `--batch`: reading the input failed midway                   |
// | 65   | `EXIT_DATAERR`     | `--resume FILE`: FILE is not this tool's `--batch` output     |
// | 73   | `EXIT_CANTCREAT`   | `--resume FILE`: FILE cannot be opened or created (D19)      |
// | 75   | `EXIT_TEMPFAIL`    | `--resume FILE`: another run is writing FILE (D19)           |
// | 77   | `EXIT_NOPERM`      | Deno refused a permission the run needs                      |
// |      |                    | (`Deno.errors.NotCapable` / `PermissionDenied` from the      |
// |      |                    | runtime, not from the file system)                           |
// | 78   | `EXIT_CONFIG`      | configuration exists but cannot be used: resolv.conf,        |
// |      |                    | locals, me, courierd or the CA file unreadable (EACCES,      |
// |      |                    | EISDIR, bad UTF-8), `--config-dir`/`--sts-dir` not a         |
// |      |                    | directory                                                    |
// | 130  | `EXIT_INTERRUPTED` | `--batch` stopped by SIGINT (128 + 2, as a shell says)       |

/** Success, `--help`, `--version`. */
export const EXIT_OK = 0;
/**
 * Courier's failure status: lookup failed, usage error, no policy
 * (docs/courier.md#actions-and-exit-status).
 */
export const EXIT_FAILURE = 1;
/** `--batch FILE`: the input cannot be opened (sysexits EX_NOINPUT). */
export const EXIT_NOINPUT = 66;
/** `--resume FILE`: FILE holds lines that are not this tool's output (sysexits EX_DATAERR). */
export const EXIT_DATAERR = 65;
/** `--resume FILE`: FILE cannot be opened or created (sysexits EX_CANTCREAT). */
export const EXIT_CANTCREAT = 73;
/** `--resume FILE`: another run holds FILE's lock (sysexits EX_TEMPFAIL: try again later). */
export const EXIT_TEMPFAIL = 75;
/** An internal error: a bug (sysexits EX_SOFTWARE). */
export const EXIT_SOFTWARE = 70;
/** Output could not be written (sysexits EX_IOERR). */
export const EXIT_IOERR = 74;
/** A Deno permission the run needs was not granted (sysexits EX_NOPERM). */
export const EXIT_NOPERM = 77;
/** A configuration file exists but cannot be read or used (sysexits EX_CONFIG). */
export const EXIT_CONFIG = 78;
/** `--batch` was stopped by SIGINT: the shell's status for a process killed by it. */
export const EXIT_INTERRUPTED = 130;
