// The client address behind a trusted reverse proxy, from X-Forwarded-For.
//
// Each proxy appends the address it received the request from, so the list
// reads "client, proxy1, proxy2" and only its right end is trustworthy: a
// client can write anything to the left. Walking from the right, every
// address inside a trusted range is one of our proxies; the first one that
// is not is the client (nginx realip's "recursive" rule). Cold path: once per
// request head from a trusted peer.
#pragma once

#include <optional>
#include <span>

#include "http/request.h"
#include "net/cidr.h"

namespace chatd {

// The client address of `req`, received from a peer inside `trusted`: the
// right-most X-Forwarded-For address (over every such header, in order) not
// itself in `trusted`, or the left-most if all are. nullopt when there is no
// such header or an entry in the part read is not an IP literal (then the
// peer's own address stands).
std::optional<sockaddr_storage> forwarded_client(const Request& req, std::span<const Cidr> trusted);

}  // namespace chatd
