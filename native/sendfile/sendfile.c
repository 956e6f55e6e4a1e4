// sendfile(2) for strata's static files: one non-blocking call on the main thread.
//
//   sendfile(outFd, inFd, offset, length) -> bytes written (>= 0) | -errno
//
// outFd is a socket that libuv has set O_NONBLOCK, so the call never waits for the peer: when
// the socket buffer is full it returns -EAGAIN and the caller waits for writability through
// node's own write machinery. Reading the file may wait for the disk, as nginx's sendfile does
// (a file in the page cache does not). Plain node_api.h (ABI-stable), no dependency.
#include <node_api.h>

#include <errno.h>
#include <stdint.h>

#ifdef __linux__
#include <sys/sendfile.h>
#include <sys/types.h>
#endif

// Linux moves at most this much per call (0x7ffff000, see sendfile(2) NOTES).
#define MAX_CHUNK 0x7ffff000LL

static napi_value fail(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static napi_value js_sendfile(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4)
    return fail(env, "sendfile(outFd, inFd, offset, length) takes four integers");
  int32_t out_fd;
  int32_t in_fd;
  int64_t offset;
  int64_t length;
  if (napi_get_value_int32(env, argv[0], &out_fd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &in_fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[3], &length) != napi_ok)
    return fail(env, "sendfile(outFd, inFd, offset, length) takes four integers");
  if (out_fd < 0 || in_fd < 0 || offset < 0 || length < 0)
    return fail(env, "sendfile(): fds, offset and length must be non-negative");
  int64_t result;
#ifdef __linux__
  if (length > MAX_CHUNK) length = MAX_CHUNK;
  off_t off = (off_t)offset;
  ssize_t n;
  do {
    n = sendfile(out_fd, in_fd, &off, (size_t)length);
  } while (n == -1 && errno == EINTR);
  result = n >= 0 ? (int64_t)n : -(int64_t)errno;
#else
  (void)out_fd;
  (void)in_fd;
  (void)offset;
  (void)length;
  result = -(int64_t)ENOSYS;
#endif
  napi_value value;
  napi_create_int64(env, result, &value);
  return value;
}

static napi_value js_constant(napi_env env, int32_t n) {
  napi_value value;
  napi_create_int32(env, n, &value);
  return value;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "sendfile", NAPI_AUTO_LENGTH, js_sendfile, NULL, &fn) != napi_ok)
    return NULL;
  napi_set_named_property(env, exports, "sendfile", fn);
  // errno values differ between platforms: the caller compares against these, not literals.
  napi_set_named_property(env, exports, "EAGAIN", js_constant(env, EAGAIN));
#ifdef __linux__
  napi_set_named_property(env, exports, "supported", js_constant(env, 1));
#else
  napi_set_named_property(env, exports, "supported", js_constant(env, 0));
#endif
  return exports;
}
