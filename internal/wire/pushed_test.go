package wire

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestPushedAnswerRoundTrip(t *testing.T) {
	for _, c := range []struct {
		status int
		ttl    time.Duration
		body   string
	}{
		{200, 30 * time.Second, `{"code":"abc"}` + "\n"},
		{404, 0, `{"error":"not_found","version":3}`},
		{200, -time.Second, `{}`}, // a negative TTL travels as 0
	} {
		b := AppendPushedAnswer(nil, c.status, c.ttl, []byte(c.body))
		status, ttl, body, err := DecodePushedAnswer(b)
		if err != nil || status != c.status || ttl != max(c.ttl, 0) || string(body) != c.body {
			t.Errorf("%+v: got %d %v %q %v", c, status, ttl, body, err)
		}
	}
}

func TestPushedAnswerRejectsMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":       nil,
		"status only": {PushedOK},
		"bad status":  {9, 0, '{'},
		"no body":     {PushedOK, 5},
		"ttl too big": append([]byte{PushedOK, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, '{'),
		"cut varint":  {PushedOK, 0x80},
	} {
		if _, _, _, err := DecodePushedAnswer(b); !errors.Is(err, ErrPushedAnswer) {
			t.Errorf("%s: err = %v, want ErrPushedAnswer", name, err)
		}
	}
}

func FuzzDecodePushedAnswer(f *testing.F) {
	f.Add(AppendPushedAnswer(nil, 200, time.Minute, []byte(`{"code":"a"}`)))
	f.Add(AppendPushedAnswer(nil, 404, 0, []byte(`{"error":"not_found"}`)))
	f.Add([]byte{PushedOK, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		status, ttl, body, err := DecodePushedAnswer(b)
		if err != nil {
			return
		}
		if ttl < 0 || ttl > maxPushedTTL || len(body) == 0 {
			t.Fatalf("accepted ttl %v, body %q", ttl, body)
		}
		again := AppendPushedAnswer(nil, status, ttl, body)
		if !bytes.Equal(again, b) {
			// Uvarint accepts non-minimal encodings; the decoded fields
			// must still round-trip.
			s2, t2, b2, err := DecodePushedAnswer(again)
			if err != nil || s2 != status || t2 != ttl || !bytes.Equal(b2, body) {
				t.Fatalf("round trip: %d %v %q vs %d %v %q (%v)", status, ttl, body, s2, t2, b2, err)
			}
		}
	})
}
