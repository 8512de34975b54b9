// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from real objects.
//
// It writes three small databases (no compression, LZ4, zstd) through the public API into a
// temporary directory: point writes, deletions and a range deletion, flushed into SSTs, and a
// last batch left in the WAL. It then copies their SST, WAL and manifest objects, and the
// pieces other targets decode (stored and decoded data blocks, the index block, the filter,
// the footer, the header, the properties block, block handles), each with the selector byte
// its target expects. The text formats (RESP, URLs, XML, globs, CLI records) get hand-written
// seeds. Usage: make_seed_corpus OUTPUT_DIR (scripts/fuzz --seeds runs it into fuzz/corpus).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cloudkv/db.h"
#include "cloudkv/options.h"
#include "format/sst_format.h"
#include "format/sst_reader.h"

using namespace cloudkv;
namespace fs = std::filesystem;

namespace {

fs::path g_out;

void Write(const std::string& target, const std::string& name, std::string_view bytes) {
  fs::create_directories(g_out / target);
  std::ofstream f(g_out / target / name, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::cerr << "cannot write " << (g_out / target / name) << "\n";
    std::exit(1);
  }
}

std::string Read(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void Check(const Status& s, const char* what) {
  if (s.ok()) return;
  std::cerr << what << ": " << s.ToString() << "\n";
  std::exit(1);
}

void WriteDatabase(const fs::path& dir, Compression compression) {
  Options options;
  options.compression = compression;
  options.block_size = 512;  // several data blocks per SST
  auto db = DB::Open("file://" + dir.string(), options);
  Check(db.status(), "open");
  WriteOptions w;
  for (int i = 0; i < 120; i++) {
    char key[16];
    std::snprintf(key, sizeof(key), "key%04d", i);
    Check((*db)->Put(w, key, std::string(static_cast<size_t>(i % 40), 'v')), "put");
  }
  Check((*db)->Delete(w, "key0003"), "delete");
  Check((*db)->DeleteRange(w, "key0050", "key0060"), "delete range");
  Check((*db)->Flush(), "flush");
  Check((*db)->Put(w, "key0007", "newer"), "put");
  Check((*db)->Delete(w, "key0008"), "delete");
  Check((*db)->Flush(), "flush");
  Check((*db)->Put(w, "wal-only", "in the WAL"), "put");
  Check((*db)->WaitForDurable((*db)->GetStats().last_sequence), "durable");
  // The objects as they are now, before Close flushes the last write out of the WAL.
  fs::copy(dir, dir.string() + ".snapshot", fs::copy_options::recursive);
  Check((*db)->Close(), "close");
}

void SstPieces(const std::string& name, const std::string& bytes) {
  auto reader = SstReader::OpenFromBytes(name, std::make_shared<std::string>(bytes));
  Check(reader.status(), "open SST");
  const SstFooter& footer = (*reader)->footer();
  const std::string_view all = bytes;
  Write("sst_fuzzer", name, "\x01" + bytes);
  const size_t footer_offset = bytes.size() - kSstFooterSize;
  Write("sst_footer_fuzzer", name + ".footer",
        "\x00" + std::string(all.substr(footer_offset)) +
            std::string(all.substr(footer.filter.offset, footer_offset - footer.filter.offset)));
  Write("sst_footer_fuzzer", name + ".header", "\x01" + std::string(all.substr(0, kSstHeaderSize)));
  Write("sst_footer_fuzzer", name + ".properties",
        "\x02" + std::string(all.substr(footer.properties.offset, footer.properties.size)));
  std::string handles = "\x03";
  for (size_t i = 0; i < (*reader)->num_data_blocks(); i++) {
    EncodeBlockHandle((*reader)->block_handle(i), &handles);
  }
  Write("sst_footer_fuzzer", name + ".handles", handles);
  if (footer.filter.size > 0) {
    Write("sst_filter_fuzzer", name + ".filter",
          all.substr(footer.filter.offset, footer.filter.size));
  }
  Write("block_fuzzer", name + ".index", all.substr(footer.index.offset, footer.index.size));
  for (size_t i = 0; i < (*reader)->num_data_blocks() && i < 2; i++) {
    const BlockHandle& h = (*reader)->block_handle(i);
    const std::string stored(all.substr(h.offset, h.size + kBlockTrailerSize));
    Write("stored_block_fuzzer", name + ".block" + std::to_string(i), "\x00" + stored);
    auto raw = DecodeStoredBlock(stored);
    Check(raw.status(), "decode block");
    Write("block_fuzzer", name + ".block" + std::to_string(i), *raw);
  }
}

void TextSeeds() {
  const std::vector<std::pair<std::string, std::string>> resp = {
      {"multibulk", std::string("\x02\x03") + "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n"},
      {"inline", std::string("\x01") + "PING\r\nSET k \"a b\\x41\\n\"\nGET 'it'\r\n"},
      {"pipeline", std::string("\x00") + "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n"},
      {"error", std::string("\x00") + "*1\r\n$-1\r\n"},
  };
  for (const auto& [n, b] : resp) Write("resp_fuzzer", n, b);
  const std::vector<std::pair<std::string, std::string>> urls = {
      {"memory", "memory://test?block_cache_bytes=1m"},
      {"file-abs", "file:///var/lib/db?read_only=true&x=%41"},
      {"file-rel", "file://./data"},
      {"s3", "s3://my-bucket/some/prefix/?region=us-east-1&endpoint=http%3A%2F%2F127.0.0.1%3A9000"},
  };
  for (const auto& [n, b] : urls) Write("store_url_fuzzer", n, b);
  const std::vector<std::pair<std::string, std::string>> xml = {
      {"list",
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
       "xmlns=\"http://s3.amazonaws.com/"
       "doc/2006-03-01/\"><Name>b</Name><Prefix>p/</Prefix><KeyCount>1</KeyCount><IsTruncated>true"
       "</IsTruncated><NextContinuationToken>tok</NextContinuationToken><Contents><Key>p/a&amp;b"
       "</Key><Size>12</Size><ETag>&quot;abc&quot;</ETag></Contents></ListBucketResult>"},
      {"error",
       "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>gone &#x41;&#66;</Message>"
       "<!-- c --><Resource><![CDATA[/b/k<>]]></Resource></Error>"},
      {"delete",
       "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code>"
       "</Error></DeleteResult>"},
      {"multipart",
       "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId>"
       "</InitiateMultipartUploadResult>"},
  };
  for (const auto& [n, b] : xml) Write("s3_xml_fuzzer", n, b);
  const std::vector<std::pair<std::string, std::string>> globs = {
      {"star", std::string("user:*\0user:1", 13)},
      {"class", std::string("h[^e]l[a-z]o\0hallo", 18)},
      {"escape", std::string("a\\*b?[\\]x]\0a*bc]", 16)},
      {"stars", std::string("a*a*a*a*a*b\0aaaaaaaaaaaaaaaaaaaa", 32)},
  };
  for (const auto& [n, b] : globs) Write("glob_fuzzer", n, b);
  Write("cli_codec_fuzzer", "json", "{\"key\": \"k\\u00ff\", \"value\": \"v\\n\\\"\\u263a\"}");
  Write("cli_codec_fuzzer", "tsv", "a\\tb\\x00\\\\c");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seed_corpus OUTPUT_DIR\n";
    return 2;
  }
  g_out = argv[1];
  const fs::path tmp = fs::temp_directory_path() / ("cloudkv-seeds-" + std::to_string(getpid()));
  const std::pair<const char*, Compression> kinds[] = {
      {"none", Compression::kNone}, {"lz4", Compression::kLz4}, {"zstd", Compression::kZstd}};
  for (const auto& [kind, compression] : kinds) {
    const fs::path dir = tmp / kind;
    WriteDatabase(dir, compression);
    int wal_objects = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir.string() + ".snapshot")) {
      if (!entry.is_regular_file()) continue;
      const std::string path = entry.path().string();
      const std::string name = std::string(kind) + "-" + entry.path().filename().string();
      const std::string bytes = Read(entry.path());
      if (path.ends_with(".sst")) {
        SstPieces(name, bytes);
      } else if (path.ends_with(".wal")) {
        if (++wal_objects > 4) continue;  // every write is one; a few are enough
        Write("wal_fuzzer", name, "\x00" + bytes);
      } else if (path.ends_with(".manifest")) {
        Write("manifest_fuzzer", name, "\x00" + bytes);
      } else if (path.ends_with("BOUNDARY")) {
        Write("manifest_fuzzer", name, "\x02" + bytes);
      }
    }
  }
  fs::remove_all(tmp);
  TextSeeds();
  return 0;
}
