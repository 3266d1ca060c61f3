package redisstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Times are stored to the nanosecond as "<unix seconds>.<9-digit ns>" (or
// as separate second and nanosecond fields where a script compares them), so
// what comes back equals what went in. They come back in UTC.

func encodeTime(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + "." + fmt.Sprintf("%09d", t.Nanosecond())
}

func decodeTime(s string) (time.Time, error) {
	sec, ns, ok := strings.Cut(s, ".")
	if !ok {
		return time.Time{}, fmt.Errorf("%w: time %q", errBadReply, s)
	}
	return decodeTimeParts(sec, ns)
}

func decodeTimeParts(sec, ns string) (time.Time, error) {
	s, err1 := strconv.ParseInt(sec, 10, 64)
	n, err2 := strconv.ParseInt(ns, 10, 64)
	if err1 != nil || err2 != nil || n < 0 || n >= 1e9 {
		return time.Time{}, fmt.Errorf("%w: time %q.%q", errBadReply, sec, ns)
	}
	return time.Unix(s, n).UTC(), nil
}

// normTime is t as it reads back from storage.
func normTime(t time.Time) time.Time { return time.Unix(t.Unix(), int64(t.Nanosecond())).UTC() }

func secs(t time.Time) string  { return strconv.FormatInt(t.Unix(), 10) }
func nanos(t time.Time) string { return strconv.Itoa(t.Nanosecond()) }
func millis(t time.Time) string {
	return strconv.FormatInt(t.UnixMilli(), 10)
}
