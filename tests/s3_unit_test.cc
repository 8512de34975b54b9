// SPDX-License-Identifier: Apache-2.0
// Unit tests of the S3 backend's pieces that need no server: SigV4 against the examples
// published in the AWS S3 documentation, the XML reader, ETag/Content-Range parsing and the
// configuration resolution (URL parameters, environment, shared credentials file).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "store/s3_client.h"
#include "store/s3_config.h"
#include "store/s3_xml.h"
#include "store/sigv4.h"
#include "util/random.h"

namespace cloudkv {
namespace {

const AwsCredentials kExampleCredentials = {"AKIAIOSFODNN7EXAMPLE",
                                            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr char kEmptyHash[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(SigV4, Sha256OfEmptyString) { EXPECT_EQ(Sha256Hex(""), kEmptyHash); }

// "Example: GET Object" of the AWS S3 API reference (sig-v4-header-based-auth).
TEST(SigV4, AwsExampleGetObject) {
  SigV4Request r;
  r.method = "GET";
  r.canonical_uri = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", kEmptyHash},
               {"x-amz-date", "20130524T000000Z"}};
  r.payload_hash = kEmptyHash;
  SigV4Result s = SignV4(r, kExampleCredentials, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(s.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:" +
                std::string(kEmptyHash) + "\nx-amz-date:20130524T000000Z\n\n" +
                "host;range;x-amz-content-sha256;x-amz-date\n" + kEmptyHash);
  EXPECT_EQ(Sha256Hex(s.canonical_request),
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// "Example: PUT Object": a key with '$', a signed payload and extra headers.
TEST(SigV4, AwsExamplePutObject) {
  std::string body = "Welcome to Amazon S3.";
  std::string hash = Sha256Hex(body);
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigV4Request r;
  r.method = "PUT";
  r.canonical_uri = "/" + UriEncode("test$file.text", true);
  EXPECT_EQ(r.canonical_uri, "/test%24file.text");
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", hash}};
  r.payload_hash = hash;
  SigV4Result s = SignV4(r, kExampleCredentials, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(s.signed_headers, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

// "Example: GET Bucket (List Objects)": query parameters are encoded and sorted.
TEST(SigV4, AwsExampleListObjects) {
  SigV4Request r;
  r.method = "GET";
  r.canonical_uri = "/";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-content-sha256", kEmptyHash}};
  r.payload_hash = kEmptyHash;
  SigV4Result s = SignV4(r, kExampleCredentials, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, UriEncodingAndQueryOrder) {
  EXPECT_EQ(UriEncode("a b/c~d_e.f-g", true), "a%20b/c~d_e.f-g");
  EXPECT_EQ(UriEncode("a/b=c&d+é", false), "a%2Fb%3Dc%26d%2B%C3%A9");
  EXPECT_EQ(CanonicalQueryString({{"uploads", ""}, {"b", "x y"}, {"a", "2"}}),
            "a=2&b=x%20y&uploads=");
  EXPECT_EQ(Md5Base64(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
}

TEST(S3Xml, ParsesListResult) {
  auto xml = ParseXml(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><IsTruncated>true</IsTruncated>"
      "<Contents><Key>a&amp;b&lt;&#x41;&#66;</Key><Size>12</Size>"
      "<ETag>&quot;abc&quot;</ETag></Contents><Contents><Key><![CDATA[x<y]]></Key></Contents>"
      "<!-- c --><Empty/></ListBucketResult>\n");
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  EXPECT_EQ(xml->name, "ListBucketResult");
  EXPECT_EQ(xml->ChildText("IsTruncated"), "true");
  ASSERT_EQ(xml->children.size(), 5u);
  EXPECT_EQ(xml->children[2].ChildText("Key"), "a&b<AB");
  EXPECT_EQ(NormalizeEtag(xml->children[2].ChildText("ETag")), "abc");
  EXPECT_EQ(xml->children[3].ChildText("Key"), "x<y");
  EXPECT_EQ(xml->ChildText("Missing"), "");
}

TEST(S3Xml, RejectsGarbage) {
  for (std::string bad :
       {"", "garbage", "<a>", "<a></b>", "<a><b></a></b>", "<a>x</a>trailing", "text<a/>",
        "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "<a>&unknown;</a>", "<a>&#0;</a>",
        "<a>&#xD800;</a>", "<a b=c></a>", "<a b=\"c></a>", "<a><![CDATA[x</a>", "<a", "</a>",
        "<a></a><b></b>", "<a>&amp</a>"}) {
    auto xml = ParseXml(bad);
    EXPECT_FALSE(xml.ok()) << "accepted: " << bad;
    if (!xml.ok()) {
      EXPECT_TRUE(xml.status().IsInvalidArgument());
    }
  }
  // Depth and size limits.
  std::string deep;
  for (int i = 0; i < kMaxXmlDepth + 1; i++) deep += "<a>";
  for (int i = 0; i < kMaxXmlDepth + 1; i++) deep += "</a>";
  EXPECT_FALSE(ParseXml(deep).ok());
}

// A prefix without a local name is not an element name (found by fuzz/s3_xml_fuzzer: "<M:/>"
// parsed to an element named "").
TEST(S3Xml, PrefixWithoutNameIsRejected) {
  for (const char* doc : {"<M:/>", "<a><p:>x</p:></a>", "<:/>"}) {
    auto parsed = ParseXml(doc);
    ASSERT_FALSE(parsed.ok()) << doc;
    EXPECT_TRUE(parsed.status().IsInvalidArgument()) << doc;
  }
  auto ok = ParseXml("<s3:Key>k</s3:Key>");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->name, "Key");
}

TEST(S3Xml, RandomBytesNeverCrash) {
  Random rnd(TestSeed("S3Xml.RandomBytesNeverCrash"));
  std::string base =
      "<?xml version=\"1.0\"?><ListBucketResult><Contents><Key>k&amp;</Key><Size>1</Size>"
      "</Contents><IsTruncated>false</IsTruncated></ListBucketResult>";
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 5000; i++) {
    std::string doc = base;
    int edits = static_cast<int>(rnd.Range(1, 4));
    for (int e = 0; e < edits; e++) {
      size_t at = rnd.Uniform(doc.size());
      switch (rnd.Uniform(3)) {
        case 0:
          doc[at] = static_cast<char>(rnd.Uniform(256));
          break;
        case 1:
          doc.erase(at, rnd.Range(1, 10));
          break;
        default:
          doc.insert(at, 1, "<>&;/\"'"[rnd.Uniform(7)]);
      }
    }
    // A document is rejected with InvalidArgument, or its tree is written out again and
    // parses to the same tree (fuzz/s3_xml_fuzzer checks the same).
    auto parsed = ParseXml(doc);
    if (!parsed.ok()) {
      ASSERT_TRUE(parsed.status().IsInvalidArgument()) << parsed.status().ToString();
      rejected++;
      continue;
    }
    auto again = ParseXml(FormatXml(*parsed));
    ASSERT_TRUE(again.ok()) << again.status().ToString() << " for " << FormatXml(*parsed);
    ASSERT_TRUE(*again == *parsed) << doc;
    accepted++;
  }
  // The edits produce both outcomes.
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
}

TEST(S3Client, ContentRangeAndEtag) {
  uint64_t a, b, t;
  EXPECT_TRUE(ParseContentRange("bytes 0-9/100", &a, &b, &t));
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 9u);
  EXPECT_EQ(t, 100u);
  for (const char* bad : {"bytes 0-9/9", "bytes 5-4/10", "bytes */10", "bytes 0-9", "0-9/10",
                          "bytes 0-9/10x", "bytes -1-9/10", ""}) {
    EXPECT_FALSE(ParseContentRange(bad, &a, &b, &t)) << bad;
  }
  EXPECT_EQ(NormalizeEtag("\"abc\""), "abc");
  EXPECT_EQ(NormalizeEtag("abc"), "abc");
}

class S3ConfigTest : public ::testing::Test {
 protected:
  EnvLookup Env() {
    return [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
  }
  Result<S3Config> Resolve(const std::string& url) {
    auto parsed = ParseStoreUrl(url);
    if (!parsed.ok()) return parsed.status();
    params_ = parsed->params;
    return ResolveS3Config(*parsed, &params_, Env());
  }
  std::map<std::string, std::string> env_;
  std::map<std::string, std::string> params_;
};

TEST_F(S3ConfigTest, EnvironmentAndDefaults) {
  env_ = {{"AWS_ACCESS_KEY_ID", "AKID"},
          {"AWS_SECRET_ACCESS_KEY", "SECRET"},
          {"AWS_SESSION_TOKEN", "TOKEN"},
          {"AWS_REGION", "eu-west-1"},
          {"HOME", "/nonexistent"}};
  auto c = Resolve("s3://my-bucket/db/one");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->bucket, "my-bucket");
  EXPECT_EQ(c->prefix, "db/one/");
  EXPECT_EQ(c->region, "eu-west-1");
  EXPECT_EQ(c->endpoint, "https://s3.eu-west-1.amazonaws.com");
  EXPECT_FALSE(c->path_style);  // AWS: virtual-hosted
  EXPECT_EQ(c->credentials.session_token, "TOKEN");
  EXPECT_TRUE(c->http.verify_tls);

  env_["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9000/";
  c = Resolve("s3://my-bucket?region=us-west-2&quirks=ceph&max_attempts=3&multipart_threshold=8m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(c->region, "us-west-2");
  EXPECT_TRUE(c->path_style);
  EXPECT_TRUE(c->quirks.if_match_bare_etag);
  EXPECT_EQ(c->max_attempts, 3);
  EXPECT_EQ(c->multipart_threshold_bytes, 8u << 20);
  EXPECT_TRUE(params_.empty());

  c = Resolve("s3://my-bucket?endpoint=https://minio.local:9000&path_style=false&foo=1");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->path_style);
  EXPECT_EQ(params_.size(), 1u);  // unknown options are left for OpenObjectStore to reject
}

TEST_F(S3ConfigTest, SharedCredentialsFileAndProfile) {
  std::string path = ::testing::TempDir() + "/s3_unit_credentials";
  {
    std::ofstream f(path);
    f << "[default]\naws_access_key_id = DEF\naws_secret_access_key = DEFSECRET\n\n"
         "# comment\n[other]\r\naws_access_key_id=OTHER\r\naws_secret_access_key= OS \r\n";
  }
  env_ = {{"AWS_SHARED_CREDENTIALS_FILE", path}};
  auto c = Resolve("s3://bucket-a");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->credentials.access_key_id, "DEF");
  env_["AWS_PROFILE"] = "other";
  c = Resolve("s3://bucket-a");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->credentials.access_key_id, "OTHER");
  EXPECT_EQ(c->credentials.secret_access_key, "OS");
  c = Resolve("s3://bucket-a?profile=missing");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument());
  EXPECT_NE(c.status().message().find("[missing]"), std::string::npos) << c.status().message();
  std::remove(path.c_str());
}

TEST_F(S3ConfigTest, RejectsSecretsAndBadValues) {
  env_ = {{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "SECRET"}};
  for (const char* url : {"s3://bucket-a?secret_access_key=x", "s3://bucket-a?aws_access_key_id=x",
                          "s3://bucket-a?endpoint=ftp://x", "s3://bucket-a?endpoint=http://h/path",
                          "s3://bucket-a?endpoint=http://user@h", "s3://bucket-a?quirks=weird",
                          "s3://bucket-a?max_attempts=0", "s3://bucket-a?multipart_part_size=1k",
                          "s3://bucket-a?path_style=maybe", "s3://bucket-a?region=a/b"}) {
    auto c = Resolve(url);
    EXPECT_FALSE(c.ok()) << url;
    if (!c.ok()) {
      EXPECT_TRUE(c.status().IsInvalidArgument()) << c.status().ToString();
    }
  }
  auto c = Resolve("s3://bucket-a?secret_access_key=hunter2");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().find("hunter2"), std::string::npos);
  env_.clear();
  c = Resolve("s3://bucket-a");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no S3 credentials"), std::string::npos);
}

}  // namespace
}  // namespace cloudkv
