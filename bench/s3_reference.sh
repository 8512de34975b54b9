#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reference S3 throughput with the aws CLI (Debian's awscli, v2) against the server in S3_*
# (scripts/s3-server start), for docs/benchmarks-s3.md. For each object size and concurrency
# it uploads a directory of N objects with `aws s3 cp --recursive` at that
# max_concurrent_requests, then downloads it, and prints requests/s and MB/s from wall time.
#   bench/s3_reference.sh [sizes=4096,16777216] [concurrency=1,8,32] [small_n=1000] [large_n=48]
set -euo pipefail
: "${S3_ENDPOINT:?eval \"\$(scripts/s3-server start)\" first}"
sizes=${1:-4096,16777216}
concs=${2:-1,8,32}
small_n=${3:-1000}
large_n=${4:-48}
AWS=${AWS:-/usr/bin/aws}
work=$(mktemp -d /tmp/s3-reference.XXXXXX)
trap 'rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY
export AWS_DEFAULT_REGION=${S3_REGION:-us-east-1} AWS_CONFIG_FILE=$work/config
export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
prefix=reference-$$
for size in ${sizes//,/ }; do
  n=$small_n; ((size >= 1048576)) && n=$large_n
  mkdir -p "$work/src-$size"
  for ((i = 0; i < n; i++)); do head -c "$size" /dev/urandom >"$work/src-$size/o$i"; done
  for c in ${concs//,/ }; do
    printf '[default]\ns3 =\n  max_concurrent_requests = %s\n  multipart_threshold = 64MB\n' "$c" >"$AWS_CONFIG_FILE"
    dst=s3://$S3_BUCKET/$prefix/$size-$c
    t0=$(date +%s.%N)
    "$AWS" --endpoint-url "$S3_ENDPOINT" s3 cp --recursive --only-show-errors "$work/src-$size" "$dst"
    t1=$(date +%s.%N)
    rm -rf "$work/dl"
    "$AWS" --endpoint-url "$S3_ENDPOINT" s3 cp --recursive --only-show-errors "$dst" "$work/dl"
    t2=$(date +%s.%N)
    "$AWS" --endpoint-url "$S3_ENDPOINT" s3 rm --recursive --only-show-errors "$dst"
    awk -v n="$n" -v s="$size" -v c="$c" -v a="$t0" -v b="$t1" -v d="$t2" 'BEGIN {
      printf "aws PUT size=%-9d conc=%-3d n=%-5d %8.1f req/s %7.1f MB/s\n", s, c, n, n/(b-a), n*s/(b-a)/1e6;
      printf "aws GET size=%-9d conc=%-3d n=%-5d %8.1f req/s %7.1f MB/s\n", s, c, n, n/(d-b), n*s/(d-b)/1e6 }'
  done
done
