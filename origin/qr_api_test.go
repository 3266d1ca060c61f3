package origin_test

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/shortstock/shortstock/origin"
)

// decodeQR reads the text of a QR code image with an independent decoder
// (gozxing, a port of ZXing).
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the QR code does not decode: %v", err)
	}
	return res.GetText()
}

// TestLinkQR: the PNG decodes back to the link's public short URL (from
// PublicBaseURL), at several sizes; the SVG is an SVG; bad size or format
// is 400; an unknown link is 404.
func TestLinkQR(t *testing.T) {
	o := newTestOrigin(t, backends[0], func(c *origin.Config) { c.PublicBaseURL = "https://sho.rt/" })
	expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://example.com/a-long/target?x=1", "code": "qr-Code_1"}), 201, "")
	for _, size := range []string{"", "?size=64", "?size=300&format=png", "?size=2048"} {
		r := o.admin("GET", "/v1/links/qr-Code_1/qr"+size, nil)
		if r.status != 200 || r.header.Get("Content-Type") != "image/png" {
			t.Fatalf("qr%s: %d %q %s", size, r.status, r.header.Get("Content-Type"), r.body)
		}
		img, err := png.Decode(bytes.NewReader(r.body))
		if err != nil {
			t.Fatalf("qr%s: not a PNG: %v", size, err)
		}
		if got := decodeQR(t, img); got != "https://sho.rt/qr-Code_1" {
			t.Fatalf("qr%s decodes to %q, want https://sho.rt/qr-Code_1", size, got)
		}
	}
	r := o.admin("GET", "/v1/links/qr-Code_1/qr?format=svg&size=128", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(r.body), "<svg ") || !strings.HasSuffix(string(r.body), "</svg>") {
		t.Fatalf("svg: %d %q %.80s", r.status, r.header.Get("Content-Type"), r.body)
	}
	for _, q := range []string{"?size=10", "?size=5000", "?size=x", "?format=gif"} {
		expect(t, o.admin("GET", "/v1/links/qr-Code_1/qr"+q, nil), 400, "")
	}
	expect(t, o.admin("GET", "/v1/links/nosuch/qr", nil), 404, "not_found")
}
