/*
 * openat, fstatat(AT_SYMLINK_NOFOLLOW) and unlinkat relative to a directory descriptor (and an
 * fstat that makes no objects), for
 * sessctl's file I/O on Linux. Node has no *at() calls, so without this helper a name below a
 * pinned directory is reached as /proc/<pid>/fd/<N>/<name>, and that procfs lookup costs more
 * than the system call itself. Optional: when it is not built, sessctl uses the procfs path.
 *
 * The name is checked here, not only by the caller: it must be one entry of the directory.
 * A '/' would let the kernel resolve it through other directories (and follow their symlinks),
 * "." and ".." name the directory itself or its parent: either would escape the pinned
 * directory, which is the whole point of pinning it.
 */
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2_H 1
#endif
#endif

/* NAME_MAX is 255 bytes; one more for the terminating NUL. */
#define NAME_BUF 256

/* Node's spelling of an errno (libuv's names), so callers can test err.code as for fs errors. */
static const char *errno_code(int e) {
  switch (e) {
#define NAMED(x) \
  case x:        \
    return #x;
    NAMED(EPERM) NAMED(ENOENT) NAMED(EINTR) NAMED(EIO) NAMED(ENXIO) NAMED(EBADF) NAMED(EAGAIN)
    NAMED(ENOMEM) NAMED(EACCES) NAMED(EFAULT) NAMED(EBUSY) NAMED(EEXIST) NAMED(EXDEV) NAMED(ENODEV)
    NAMED(ENOTDIR) NAMED(EISDIR) NAMED(EINVAL) NAMED(ENFILE) NAMED(EMFILE) NAMED(ETXTBSY)
    NAMED(EFBIG) NAMED(ENOSPC) NAMED(EROFS) NAMED(EMLINK) NAMED(ENAMETOOLONG) NAMED(ENOSYS)
    NAMED(ENOTEMPTY) NAMED(ELOOP) NAMED(EOVERFLOW) NAMED(ESTALE) NAMED(EDQUOT)
#undef NAMED
    case EOPNOTSUPP:
      return "ENOTSUP"; /* what Node calls it */
    default:
      return "UNKNOWN";
  }
}

/* When a Node-API call itself failed: throws a generic error unless one is already pending. */
static napi_value api_failed(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, "sessctl_at: a Node-API call failed");
  return NULL;
}

#define CHECK(call)                                  \
  do {                                               \
    if ((call) != napi_ok) return api_failed(env);   \
  } while (0)

/* Throws an error shaped like Node's fs errors: code, negative errno, syscall, message. */
static napi_value throw_errno(napi_env env, int e, const char *syscall, const char *name) {
  const char *code = errno_code(e);
  char desc[128];
  snprintf(desc, sizeof desc, "%s", strerror(e));
  /* glibc capitalises ("No such file…"); Node's messages do not. */
  if (desc[0] >= 'A' && desc[0] <= 'Z' && desc[1] >= 'a' && desc[1] <= 'z') desc[0] = (char)(desc[0] - 'A' + 'a');
  char msg[PATH_MAX + 256];
  /* Node names the path when there is one ("…, open 'x'"), and only the call for a descriptor. */
  if (name != NULL) snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, desc, syscall, name);
  else snprintf(msg, sizeof msg, "%s: %s, %s", code, desc, syscall);

  napi_value code_v, msg_v, err, errno_v, syscall_v;
  CHECK(napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v));
  CHECK(napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v));
  CHECK(napi_create_error(env, code_v, msg_v, &err));
  CHECK(napi_create_int32(env, -e, &errno_v));
  CHECK(napi_set_named_property(env, err, "errno", errno_v));
  CHECK(napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v));
  CHECK(napi_set_named_property(env, err, "syscall", syscall_v));
  napi_throw(env, err);
  return NULL;
}

static bool invalid(napi_env env, const char *code, const char *syscall, const char *what) {
  char msg[NAME_BUF + 256];
  snprintf(msg, sizeof msg, "sessctl_at %s: %s", syscall, what);
  napi_throw_type_error(env, code, msg);
  return false;
}

/* An integer in [min, max], else a TypeError naming the argument. */
static bool get_int(napi_env env, napi_value v, const char *syscall, const char *arg, double min, double max, int *out) {
  napi_valuetype t;
  double d;
  char what[128];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok || !(d >= min && d <= max) || d != (double)(int64_t)d) {
    snprintf(what, sizeof what, "%s must be an integer from %.0f to %.0f", arg, min, max);
    return invalid(env, "ERR_INVALID_ARG_VALUE", syscall, what);
  }
  *out = (int)d;
  return true;
}

/* Copies the name into buf (NAME_BUF bytes) if it is one entry of the directory; else throws. */
static bool get_name(napi_env env, napi_value v, const char *syscall, char *buf) {
  napi_valuetype t;
  size_t len = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return invalid(env, "ERR_INVALID_ARG_TYPE", syscall, "name must be a string");
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return invalid(env, "ERR_INVALID_ARG_VALUE", syscall, "name could not be read");
  if (len == 0) return invalid(env, "ERR_INVALID_ARG_VALUE", syscall, "name is empty");
  if (len >= NAME_BUF) {
    char what[96];
    snprintf(what, sizeof what, "name is %zu bytes long, above the 255-byte limit of one directory entry", len);
    return invalid(env, "ERR_INVALID_ARG_VALUE", syscall, what);
  }
  if (napi_get_value_string_utf8(env, v, buf, NAME_BUF, &len) != napi_ok) return invalid(env, "ERR_INVALID_ARG_VALUE", syscall, "name could not be read");
  /* A NUL would cut the name short: what the kernel sees would not be what was asked for. */
  if (memchr(buf, '\0', len) != NULL) return invalid(env, "ERR_INVALID_ARG_VALUE", syscall, "name contains a NUL byte");
  if (memchr(buf, '/', len) != NULL || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0) {
    char what[NAME_BUF + 128];
    snprintf(what, sizeof what, "name '%s' is not an entry of the directory (no '/', not '.' or '..'): refused", buf);
    return invalid(env, "ERR_INVALID_ARG_VALUE", syscall, what);
  }
  return true;
}

/* The directory descriptor and the name, the first two arguments of every call here. */
static bool get_at(napi_env env, size_t argc, napi_value *argv, const char *syscall, int *dirfd, char *name) {
  if (argc < 2) return invalid(env, "ERR_MISSING_ARGS", syscall, "expects a directory descriptor and a name");
  return get_int(env, argv[0], syscall, "dirfd", 0, INT32_MAX, dirfd) && get_name(env, argv[1], syscall, name);
}

/* openat(dirfd, name, flags, mode = 0o666) -> fd. O_CLOEXEC is always added, as libuv does for Node's own opens. */
static napi_value js_openat(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int dirfd, flags, mode = 0666;
  char name[NAME_BUF];
  if (!get_at(env, argc, argv, "openat", &dirfd, name)) return NULL;
  if (argc < 3) {
    invalid(env, "ERR_MISSING_ARGS", "openat", "expects flags");
    return NULL;
  }
  if (!get_int(env, argv[2], "openat", "flags", INT32_MIN, INT32_MAX, &flags)) return NULL;
  if (argc >= 4) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[3], &t));
    if (t != napi_undefined && !get_int(env, argv[3], "openat", "mode", 0, 07777, &mode)) return NULL;
  }
  int fd;
  do fd = openat(dirfd, name, flags | O_CLOEXEC, (mode_t)mode);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return throw_errno(env, errno, "openat", name);
  napi_value result;
  CHECK(napi_create_int32(env, fd, &result));
  return result;
}

/*
 * openpath(path, flags, mode = 0o666) -> fd: openat2(2) of an absolute path with
 * RESOLVE_NO_SYMLINKS, so that no component of it may be a symlink (the kernel refuses with
 * ELOOP). It lets a session directory whose path holds no symlink be reached by path on
 * every request, as PHP reaches it, in one system call, with no symlink followed at any
 * level. ENOSYS where the kernel (before 5.6) or the build lacks openat2: the caller then
 * keeps to openat below a pinned directory.
 */
static napi_value js_openpath(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    invalid(env, "ERR_MISSING_ARGS", "openat2", "expects a path and flags");
    return NULL;
  }
  napi_valuetype t;
  size_t len = 0;
  char path[PATH_MAX];
  CHECK(napi_typeof(env, argv[0], &t));
  if (t != napi_string) {
    invalid(env, "ERR_INVALID_ARG_TYPE", "openat2", "path must be a string");
    return NULL;
  }
  CHECK(napi_get_value_string_utf8(env, argv[0], NULL, 0, &len));
  if (len == 0 || len >= PATH_MAX) {
    invalid(env, "ERR_INVALID_ARG_VALUE", "openat2", "path must be 1 to 4095 bytes long");
    return NULL;
  }
  CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len));
  /* Relative paths would depend on the working directory; a NUL would cut the path short. */
  if (path[0] != '/' || memchr(path, '\0', len) != NULL) {
    invalid(env, "ERR_INVALID_ARG_VALUE", "openat2", "path must be absolute and contain no NUL byte");
    return NULL;
  }
  int flags, mode = 0666;
  if (!get_int(env, argv[1], "openat2", "flags", INT32_MIN, INT32_MAX, &flags)) return NULL;
  if (argc >= 3) {
    CHECK(napi_typeof(env, argv[2], &t));
    if (t != napi_undefined && !get_int(env, argv[2], "openat2", "mode", 0, 07777, &mode)) return NULL;
  }
#if defined(HAVE_OPENAT2_H) && defined(SYS_openat2)
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(unsigned)(flags | O_CLOEXEC);
  /* The kernel refuses a mode without O_CREAT or O_TMPFILE (EINVAL). */
  how.mode = (flags & O_CREAT) ? (uint64_t)mode : 0;
  how.resolve = RESOLVE_NO_SYMLINKS;
  long fd;
  do fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return throw_errno(env, errno, "openat2", path);
  napi_value result;
  CHECK(napi_create_int32(env, (int32_t)fd, &result));
  return result;
#else
  return throw_errno(env, ENOSYS, "openat2", path);
#endif
}

/* What lstatat and fstat write into their caller's Float64Array, in this order. */
enum { STAT_DEV, STAT_INO, STAT_MODE, STAT_UID, STAT_SIZE, STAT_MTIME_MS, STAT_NLINK, STAT_FIELDS };

/* The caller's Float64Array for a stat, or NULL with an exception pending. */
static double *stat_out(napi_env env, napi_value v, const char *syscall) {
  bool is_typed = false;
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void *data = NULL;
  if ((v != NULL && napi_is_typedarray(env, v, &is_typed) != napi_ok) ||
      (is_typed && napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) != napi_ok)) {
    api_failed(env);
    return NULL;
  }
  if (!is_typed || type != napi_float64_array || length < STAT_FIELDS) {
    invalid(env, "ERR_INVALID_ARG_TYPE", syscall, "out must be a Float64Array of at least 7 elements");
    return NULL;
  }
  return data;
}

/* Doubles, as Node's fs.Stats has them, so dev and ino compare equal to those of fs.fstat. */
static void fill_stat(double *out, const struct stat *st) {
  out[STAT_DEV] = (double)st->st_dev;
  out[STAT_INO] = (double)st->st_ino;
  out[STAT_MODE] = (double)st->st_mode;
  out[STAT_UID] = (double)st->st_uid;
  out[STAT_SIZE] = (double)st->st_size;
  out[STAT_MTIME_MS] = (double)st->st_mtim.tv_sec * 1e3 + (double)st->st_mtim.tv_nsec / 1e6;
  out[STAT_NLINK] = (double)st->st_nlink;
}

/*
 * lstatat(dirfd, name, out) -> true, with out[] = dev, ino, mode, uid, size, mtimeMs, nlink; false when
 * there is no such entry. The caller (native-at.ts) makes the object: building it here through
 * Node-API, one property at a time, cost more than the system call itself.
 */
static napi_value js_lstatat(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int dirfd;
  char name[NAME_BUF];
  if (!get_at(env, argc, argv, "fstatat", &dirfd, name)) return NULL;
  double *out = stat_out(env, argc >= 3 ? argv[2] : NULL, "fstatat");
  if (out == NULL) return NULL;
  struct stat st;
  int r;
  do r = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno != ENOENT) return throw_errno(env, errno, "fstatat", name);
  if (r == 0) fill_stat(out, &st);
  napi_value result;
  CHECK(napi_get_boolean(env, r == 0, &result));
  return result;
}

/*
 * fstat(fd, out) -> undefined, out[] as lstatat's. It spares the session file's fstat under the
 * lock what fs.fstatSync makes on every request: a Stats object and its four Dates.
 */
static napi_value js_fstat(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 2) {
    invalid(env, "ERR_MISSING_ARGS", "fstat", "expects a descriptor and a Float64Array");
    return NULL;
  }
  if (!get_int(env, argv[0], "fstat", "fd", 0, INT32_MAX, &fd)) return NULL;
  double *out = stat_out(env, argv[1], "fstat");
  if (out == NULL) return NULL;
  struct stat st;
  int r;
  do r = fstat(fd, &st);
  while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, errno, "fstat", NULL);
  fill_stat(out, &st);
  napi_value result;
  CHECK(napi_get_undefined(env, &result));
  return result;
}

/* unlinkat(dirfd, name) -> undefined. Files only (no AT_REMOVEDIR). */
static napi_value js_unlinkat(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int dirfd;
  char name[NAME_BUF];
  if (!get_at(env, argc, argv, "unlinkat", &dirfd, name)) return NULL;
  int r;
  do r = unlinkat(dirfd, name, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, errno, "unlinkat", name);
  napi_value result;
  CHECK(napi_get_undefined(env, &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"openat", NULL, js_openat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lstatat", NULL, js_lstatat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unlinkat", NULL, js_unlinkat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fstat", NULL, js_fstat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openpath", NULL, js_openpath, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
