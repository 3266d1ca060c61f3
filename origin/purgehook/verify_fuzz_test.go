package purgehook

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// FuzzVerify: whatever the headers and body, Verify accepts only what
// carries the right signature, and never the same nonce twice.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_900_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := []byte(`{"keys":["link:a"],"all":false,"soft":false,"mode":"hard","timestamp":` + ts + `,"nonce":"00112233aabbccdd"}`)
	f.Add(ts, SignWebhook(secret, ts, good), good)
	f.Add(ts, "sha256=00", good)
	f.Add("", "", []byte(`{}`))
	f.Add(ts, SignWebhook(secret, ts, []byte(`not json`)), []byte(`not json`))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		v := &Verifier{Secret: secret, Now: func() time.Time { return now }}
		h := http.Header{}
		h.Set("X-Shortstock-Timestamp", ts)
		h.Set("X-Shortstock-Signature", sig)
		_, err := v.Verify(h, body)
		if err == nil && sig != SignWebhook(secret, ts, body) {
			t.Fatalf("accepted a wrong signature %q", sig)
		}
		if err == nil {
			if _, err := v.Verify(h, body); err == nil {
				t.Fatal("accepted the same request twice")
			}
		}
	})
}
