package redisstore

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/origin/store"
)

// FuzzDecoders feeds arbitrary field values to every decoder of stored
// data: whatever sits in the keyspace, decoding returns an error or a
// value, never a panic.
func FuzzDecoders(f *testing.F) {
	f.Add("1", "https://example.com/", "302", "1893499200.000000000", "", "7", "12-0")
	f.Add("x", "", "-1", "1.2.3", "99999999999999999999.5", "", "0-0")
	f.Add("18446744073709551615", "u", "301", "-5.000000001", "1.999999999", "-3", "abc")
	f.Add("4", "w1 adjust 1 0 5 0 4 1764950400000", "received", "5", "0", "1", "7-0")
	f.Add("4", "w1 adjust  0 5 0 4 1764950400000 x", "", "", "", "", "7-0")
	f.Add("4", "s:CLOG-1 12 1764950400000", "2", "", "", "", "9-0")
	f.Add("4", "w1 adjust 1 0 5 0 4 1764950400000 received k1 job:7", "", "", "", "", "7-0")
	f.Add("4", "5 1764950400000 s:A 3 s:B 9 s:A 4", "", "", "", "", "7-0")
	f.Add("4", "5 1764950400000 s:A 3 s:B", "", "", "", "", "6-0")
	f.Add("x", "oreo", "insufficient", "ab", "xy", "0", "1-0")
	f.Add("4", "w1 adjust 1 0 5 0 4 1764950400000   ", "sold", "", "", "", "7-0")
	f.Fuzz(func(t *testing.T, v, url, rd, ct, exp, n, id string) {
		_, _, _ = linkFromHash("c", map[string]string{"v": v, "url": url, "rd": rd, "ct": ct, "exp": exp, "clk": n})
		_, _ = stockFromHash("s", map[string]string{"v": v, "h:" + url: n, "r:" + url: rd, "h:x": exp})
		_, _ = reservationFromHash("r", map[string]string{"sku": url, "wh": rd, "q": n, "st": v, "es": ct, "en": exp, "cs": exp, "cn": ct})
		_, _ = decodeTime(ct)
		_, _ = entrySeq(id)
		_, _ = changeFromEntry(3, redis.XMessage{ID: id, Values: map[string]any{"k": url, "v": v, "t": n}})
		_, _ = changeFromEntry(3, redis.XMessage{ID: id, Values: map[string]any{"c": url, "p": rd}})
		_, _ = appendChanges(nil, 3, redis.XMessage{ID: id, Values: map[string]any{"r": url}}, 0, 1000)
		_ = splitLinesReply("x", []any{url, int64(len(v)), rd, n}, []*partLines{{writes: make([]store.StockWrite, len(ct))}, {writes: make([]store.StockWrite, len(exp))}})
		_, _ = firstSeqOf(redis.XMessage{ID: id, Values: map[string]any{"r": url}})
		_, _, _ = replyOf([]any{url, int64(len(v)), []any{ct, exp}})
		_, _ = toHash([]any{url, v, rd})
		_, _ = movementFromEntry(3, "s", redis.XMessage{ID: id, Values: map[string]any{"p": url, "rs": rd}})
		_, _ = movementFromEntry(3, "s", redis.XMessage{ID: id, Values: map[string]any{"w": url, "k": rd, "dh": n, "dr": v, "h": ct, "r": exp, "v": v, "t": n}})
	})
}
