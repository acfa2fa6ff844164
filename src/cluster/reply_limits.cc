#include "cluster/reply_limits.h"

namespace chatd {
namespace {

// hiredis' own functions, read once from a reader it made: they are static
// in hiredis.c, reachable only through a reader's table.
redisReplyObjectFunctions defaults() {
  redisReader* r = redisReaderCreate();
  redisReplyObjectFunctions fn = *r->fn;
  redisReaderFree(r);
  return fn;
}

const redisReplyObjectFunctions& hiredis_functions() {
  static const redisReplyObjectFunctions fn = defaults();
  return fn;
}

void* create_array(const redisReadTask* task, int elements) {
  // Null is how a reply function says "no": the reader stops with an error.
  if (elements < 0 || elements > kMaxReplyElements) return nullptr;
  return hiredis_functions().createArray(task, elements);
}

}  // namespace

redisReplyObjectFunctions* bounded_reply_functions() {
  static redisReplyObjectFunctions fn = [] {
    redisReplyObjectFunctions f = hiredis_functions();
    f.createArray = create_array;
    return f;
  }();
  return &fn;
}

}  // namespace chatd
