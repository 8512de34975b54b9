// SPDX-License-Identifier: Apache-2.0
// S3Store against a misbehaving server: a tiny HTTP server on a real local socket, scripted per
// request, that answers with garbage XML, truncated bodies, wrong ranges, 5xx storms, stalls,
// lost responses and quirky conditional handling. Checks clear errors and bounded retries.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "store/s3_config.h"
#include "store/s3_store.h"
#include "store/sigv4.h"

namespace cloudkv {
namespace {

struct Received {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct Reply {
  enum Action { kSend, kCloseWithoutReply, kStall } action = kSend;
  std::string raw;  // the bytes to send (kSend); the connection closes after them if close
  bool close = false;
};

Reply Http(int status, std::string body, std::string extra_headers = "") {
  Reply r;
  r.raw = "HTTP/1.1 " + std::to_string(status) +
          " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" +
          body;
  return r;
}

Reply S3Error(int status, const std::string& code) {
  return Http(status, "<?xml version=\"1.0\"?><Error><Code>" + code +
                          "</Code><Message>scripted</Message></Error>");
}

// Serves HTTP/1.1 on 127.0.0.1:<ephemeral> with one thread per connection; every request is
// passed to the handler with its sequence number.
class FakeServer {
 public:
  using Handler = std::function<Reply(const Received&, int index)>;

  explicit FakeServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    EXPECT_EQ(listen(listen_fd_, 64), 0);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~FakeServer() {
    stop_ = true;
    acceptor_.join();
    close(listen_fd_);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : connections_) t.join();
  }

  int port() const { return port_; }
  int requests() const { return count_; }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  bool WaitReadable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }

  void AcceptLoop() {
    while (WaitReadable(listen_fd_)) {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      connections_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Reads one request; false when the client closed or sent garbage.
  bool ReadRequest(int fd, std::string* buffer, Received* out) {
    size_t end;
    while ((end = buffer->find("\r\n\r\n")) == std::string::npos) {
      if (buffer->size() > (1 << 20) || !WaitReadable(fd)) return false;
      char chunk[65536];
      ssize_t n = read(fd, chunk, sizeof(chunk));
      if (n <= 0) return false;
      buffer->append(chunk, static_cast<size_t>(n));
    }
    std::string head = buffer->substr(0, end);
    buffer->erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    size_t sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
    out->method = request_line.substr(0, sp1);
    out->target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end;
    while (pos != std::string::npos && pos < head.size()) {
      size_t next = head.find("\r\n", pos + 2);
      std::string line = head.substr(pos + 2, next == std::string::npos ? next : next - pos - 2);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out->headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      }
      pos = next;
    }
    size_t length =
        out->headers.count("content-length") ? std::stoul(out->headers["content-length"]) : 0;
    while (buffer->size() < length) {
      if (!WaitReadable(fd)) return false;
      char chunk[65536];
      ssize_t n = read(fd, chunk, sizeof(chunk));
      if (n <= 0) return false;
      buffer->append(chunk, static_cast<size_t>(n));
    }
    out->body = buffer->substr(0, length);
    buffer->erase(0, length);
    return true;
  }

  void Serve(int fd) {
    std::string buffer;
    Received req;
    while (ReadRequest(fd, &buffer, &req)) {
      int index = count_++;
      {
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back(req);
      }
      Reply reply = handler_(req, index);
      if (reply.action == Reply::kCloseWithoutReply) break;
      if (reply.action == Reply::kStall) {
        while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        break;
      }
      if (write(fd, reply.raw.data(), reply.raw.size()) < 0 || reply.close) break;
      req = Received();
    }
    close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> count_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> connections_;
  std::vector<Received> received_;
};

S3Config FakeConfig(const FakeServer& server) {
  S3Config c;
  c.endpoint = "http://127.0.0.1:" + std::to_string(server.port());
  c.bucket = "fake-bucket";
  c.path_style = true;
  c.credentials = {"FAKE-KEY-ID", "fake-secret-never-shown", ""};
  c.credentials_source = "test";
  c.max_attempts = 3;
  c.retry_base_delay_ms = 1;
  c.retry_max_delay_ms = 5;
  c.http.request_timeout_ms = 2000;
  c.min_transfer_bytes_per_ms = 1ull << 30;  // no extra time for large ranges
  return c;
}

TEST(S3MisbehavingServer, GarbageXmlInAListingIsAClearError) {
  FakeServer server([](const Received&, int) {
    return Http(200, "<ListBucketResult><Contents><Key>a</Key></Contents>");
  });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->List("p/");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("unreadable response"), std::string::npos);
  EXPECT_NE(r.status().message().find("malformed XML"), std::string::npos);
  EXPECT_EQ(server.requests(), 1);
}

TEST(S3MisbehavingServer, ListingOutOfOrderIsRejected) {
  FakeServer server([](const Received&, int) {
    return Http(200,
                "<ListBucketResult><IsTruncated>false</IsTruncated>"
                "<Contents><Key>p/b</Key><Size>1</Size></Contents>"
                "<Contents><Key>p/a</Key><Size>1</Size></Contents></ListBucketResult>");
  });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->List("p/");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("out of order"), std::string::npos) << r.status().ToString();
}

TEST(S3MisbehavingServer, TruncatedBodiesAreRetriedAFewTimesThenFail) {
  FakeServer server([](const Received&, int) {
    Reply r;
    r.raw = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(50, 'x');
    r.close = true;
    return r;
  });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->Get("k", ByteRange{0, 100});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("gave up after 3 attempts"), std::string::npos);
  EXPECT_EQ(server.requests(), 3);
}

TEST(S3MisbehavingServer, TruncatedOnceThenGood) {
  FakeServer server([](const Received&, int i) {
    if (i == 0) {
      Reply r;
      r.raw = "HTTP/1.1 206 OK\r\nContent-Length: 10\r\nContent-Range: bytes 0-9/10\r\n\r\n01";
      r.close = true;
      return r;
    }
    return Http(206, "0123456789", "Content-Range: bytes 0-9/10\r\nETag: \"e\"\r\n");
  });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->Get("k");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->data, "0123456789");
  EXPECT_EQ(r->etag, "e");
  EXPECT_EQ(server.requests(), 2);
}

TEST(S3MisbehavingServer, WrongRangesAreCorruptionNotWrongData) {
  for (std::string reply :
       {std::string("Content-Range: bytes 0-9/100\r\n|01234"),
        std::string("Content-Range: bytes 10-19/100\r\n|0123456789"),
        std::string("Content-Range: bytes 0-9/5\r\n|0123456789"),
        std::string("Content-Range: nonsense\r\n|0123456789"), std::string("|0123456789")}) {
    size_t bar = reply.find('|');
    FakeServer server([&](const Received&, int) {
      return Http(206, reply.substr(bar + 1), reply.substr(0, bar));
    });
    auto r = NewS3StoreFromConfig(FakeConfig(server))->Get("k", ByteRange{0, 10});
    ASSERT_FALSE(r.ok()) << reply;
    EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
    EXPECT_NE(r.status().message().find("s3://fake-bucket/k"), std::string::npos);
  }
}

TEST(S3MisbehavingServer, ServerErrorsThenSuccess) {
  FakeServer server([](const Received&, int i) {
    if (i == 0) return S3Error(500, "InternalError");
    if (i == 1) return S3Error(503, "SlowDown");
    return Http(200, "", "ETag: \"abc\"\r\n");
  });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->Put("k", "v");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "abc");
  EXPECT_EQ(server.requests(), 3);
}

TEST(S3MisbehavingServer, PersistentSlowDownStopsAfterMaxAttempts) {
  FakeServer server([](const Received&, int) { return S3Error(503, "SlowDown"); });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->Head("k");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status().ToString();
  EXPECT_TRUE(r.status().retryable());
  EXPECT_EQ(server.requests(), 3);
}

TEST(S3MisbehavingServer, StalledResponseTimesOut) {
  FakeServer server([](const Received&, int) {
    Reply r;
    r.action = Reply::kStall;
    return r;
  });
  S3Config c = FakeConfig(server);
  c.http.request_timeout_ms = 300;
  c.max_attempts = 2;
  auto r = NewS3StoreFromConfig(c)->Get("k");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsTimedOut()) << r.status().ToString();
  EXPECT_EQ(server.requests(), 2);
}

// The first PUT lands but its response is lost; the retry gets 412. Reading the object back
// tells our own write (same bytes) from someone else's.
TEST(S3MisbehavingServer, LostResponseOfIfAbsentIsResolvedByReadingBack) {
  for (bool ours : {true, false}) {
    FakeServer server([&](const Received& req, int i) {
      if (i == 0) return Reply{Reply::kCloseWithoutReply, "", false};
      if (req.method == "PUT") {
        EXPECT_EQ(req.headers.at("if-none-match"), "*");
        return S3Error(412, "PreconditionFailed");
      }
      std::string body = ours ? "payload-with-nonce-1" : "payload-with-nonce-2";
      return Http(206, body,
                  "ETag: \"stored\"\r\nContent-Range: bytes 0-" + std::to_string(body.size() - 1) +
                      "/" + std::to_string(body.size()) + "\r\n");
    });
    auto r = NewS3StoreFromConfig(FakeConfig(server))
                 ->Put("k", "payload-with-nonce-1", PutOptions::IfAbsent());
    if (ours) {
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(*r, "stored");
    } else {
      EXPECT_TRUE(r.status().IsPreconditionFailed()) << r.status().ToString();
    }
    EXPECT_EQ(server.requests(), 3);
  }
}

TEST(S3MisbehavingServer, PlainPreconditionFailureIsNotReadBack) {
  FakeServer server([](const Received&, int) { return S3Error(412, "PreconditionFailed"); });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->Put("k", "v", PutOptions::IfAbsent());
  EXPECT_TRUE(r.status().IsPreconditionFailed()) << r.status().ToString();
  EXPECT_EQ(server.requests(), 1);
}

TEST(S3MisbehavingServer, ConditionalRequestConflictIsRetried) {
  FakeServer server([](const Received&, int i) {
    if (i == 0) return S3Error(409, "ConditionalRequestConflict");
    return Http(200, "", "ETag: \"new\"\r\n");
  });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->Put("k", "v", PutOptions::IfMatch("old"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(server.received()[0].headers.at("if-match"), "\"old\"");
}

TEST(S3MisbehavingServer, IfMatchOnAMissingKeyIsPreconditionFailed) {
  FakeServer server([](const Received& req, int) {
    if (req.method == "HEAD") return Http(404, "");
    return S3Error(404, "NoSuchKey");  // AWS's answer; Ceph answers 412
  });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->Put("k", "v", PutOptions::IfMatch("e"));
  EXPECT_TRUE(r.status().IsPreconditionFailed()) << r.status().ToString();
}

// A server that only accepts the bare ETag in If-Match (Ceph RGW 16) and does not identify
// itself: the store notices that the object's ETag is the one it sent and adopts the quirk.
TEST(S3MisbehavingServer, UnquotedIfMatchQuirkIsDetectedByBehaviour) {
  const std::string etag = "0123456789abcdef0123456789abcdef";
  FakeServer server([&](const Received& req, int) {
    if (req.method == "HEAD") return Http(200, "", "ETag: \"" + etag + "\"\r\n");
    // Like Ceph RGW 16: only the bare ETag is accepted, and only as a prefix comparison.
    if (req.headers.at("if-match").rfind(etag, 0) != 0) return S3Error(412, "PreconditionFailed");
    return Http(200, "", "ETag: \"def\"\r\n");
  });
  auto store = NewS3StoreFromConfig(FakeConfig(server));
  auto r = store->Put("k", "v", PutOptions::IfMatch(etag));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "def");
  auto got = server.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].headers["if-match"], "\"" + etag + "\"");
  EXPECT_EQ(got[2].headers["if-match"], etag);
  // Later conditional puts use the bare ETag straight away.
  ASSERT_TRUE(store->Put("k", "w", PutOptions::IfMatch(etag)).ok());
  EXPECT_EQ(server.requests(), 4);
  // A value that merely starts with the ETag would match on such a server: it is refused
  // without being sent.
  auto bad = store->Put("k", "x", PutOptions::IfMatch(etag + "x"));
  EXPECT_TRUE(bad.status().IsPreconditionFailed()) << bad.status().ToString();
  EXPECT_EQ(server.requests(), 4);
}

TEST(S3MisbehavingServer, ForbiddenNamesTheKeyIdButNeverTheSecret) {
  FakeServer server([](const Received&, int) { return S3Error(403, "SignatureDoesNotMatch"); });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->Get("k");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'FAKE-KEY-ID'"), std::string::npos);
  EXPECT_NE(r.status().message().find("SignatureDoesNotMatch"), std::string::npos);
  EXPECT_EQ(r.status().message().find("fake-secret"), std::string::npos);
  EXPECT_EQ(server.requests(), 1);
}

TEST(S3MisbehavingServer, EveryRequestIsSignedAndPutsCarryTheirSha256) {
  FakeServer server([](const Received&, int) { return Http(200, "", "ETag: \"x\"\r\n"); });
  ASSERT_TRUE(NewS3StoreFromConfig(FakeConfig(server))->Put("dir/k", "payload").ok());
  auto req = server.received().at(0);
  EXPECT_EQ(req.target, "/fake-bucket/dir/k");
  EXPECT_EQ(req.headers["x-amz-content-sha256"], Sha256Hex("payload"));
  EXPECT_EQ(req.body, "payload");
  EXPECT_EQ(req.headers["authorization"].rfind("AWS4-HMAC-SHA256 Credential=FAKE-KEY-ID/", 0), 0u);
}

TEST(S3MisbehavingServer, DeleteManySendsContentMd5AndReportsFailedKeys) {
  FakeServer server([](const Received& req, int) {
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.headers.at("content-md5"), Md5Base64(req.body));
    return Http(200,
                "<DeleteResult><Error><Key>k2</Key><Code>AccessDenied</Code></Error>"
                "<Error><Key>k3</Key><Code>NoSuchKey</Code></Error></DeleteResult>");
  });
  std::vector<std::string> keys;
  for (int i = 0; i < 2500; i++) keys.push_back("k" + std::to_string(i));
  Status s = NewS3StoreFromConfig(FakeConfig(server))->DeleteMany(keys);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("'k2': AccessDenied"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.message().find("k3"), std::string::npos);
  EXPECT_EQ(server.requests(), 1);  // stops at the first failed batch
  EXPECT_NE(server.received()[0].body.find("<Key>k999</Key>"), std::string::npos);
  EXPECT_EQ(server.received()[0].body.find("<Key>k1000</Key>"), std::string::npos);
}

TEST(S3MisbehavingServer, FailedMultipartUploadIsAborted) {
  FakeServer server([](const Received& req, int) {
    if (req.method == "POST") {
      return Http(200,
                  "<InitiateMultipartUploadResult><UploadId>up-1</UploadId>"
                  "</InitiateMultipartUploadResult>");
    }
    if (req.method == "PUT") return S3Error(400, "InvalidPart");
    return Http(204, "");
  });
  S3Config c = FakeConfig(server);
  c.multipart_threshold_bytes = 5 << 20;
  c.multipart_part_bytes = 5 << 20;
  auto r = NewS3StoreFromConfig(c)->Put("big", std::string(11 << 20, 'b'));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("InvalidPart"), std::string::npos) << r.status().ToString();
  auto got = server.received();
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().method, "DELETE");
  EXPECT_NE(got.back().target.find("uploadId=up-1"), std::string::npos);
}

// Error text from the server goes into Status messages and logs: XML entities that decode to
// CR/LF must not forge lines there.
TEST(S3MisbehavingServer, ErrorTextIsEscapedBeforeReachingErrors) {
  FakeServer server([](const Received&, int) {
    return Http(403,
                "<Error><Code>AccessDenied&#13;&#10;Forged</Code>"
                "<Message>denied&#10;cloudkv: FENCED by a forged line&#7;</Message></Error>");
  });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->Get("k");
  ASSERT_FALSE(r.ok());
  const std::string message = r.status().message();
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(message.find('\r'), std::string::npos) << message;
  EXPECT_EQ(message.find('\a'), std::string::npos) << message;
  EXPECT_NE(message.find("AccessDenied\\x0d\\x0aForged"), std::string::npos) << message;
  EXPECT_NE(message.find("denied\\x0acloudkv"), std::string::npos) << message;
}

// An ETag goes back to the server in If-Match headers: one with CR/LF (from XML entities) is
// refused, never stored.
TEST(S3MisbehavingServer, EtagWithControlCharactersIsRejected) {
  FakeServer server([](const Received&, int) {
    return Http(200,
                "<ListBucketResult><IsTruncated>false</IsTruncated>"
                "<Contents><Key>p/a</Key><Size>1</Size>"
                "<ETag>\"abc&#13;&#10;X-Injected: 1\"</ETag></Contents></ListBucketResult>");
  });
  auto r = NewS3StoreFromConfig(FakeConfig(server))->List("p/");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ETag with a control character"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace cloudkv
