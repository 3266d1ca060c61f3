package origin

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"

	"github.com/shortstock/shortstock/origin/store"
)

// QR codes of links: GET /v1/links/{code}/qr?size=&format=png|svg encodes
// the link's public short URL (LinkFeatures.PublicBaseURL + "/" + code).
// The matrix comes from yeqown/go-qrcode (error correction level M, byte
// mode); it is drawn here, with the 4-module quiet zone the standard asks
// for, as a 1-bit PNG or an SVG of one path.

const (
	defaultQRSize = 256
	minQRSize     = 64
	maxQRSize     = 2048
	qrQuiet       = 4
)

// qrMatrix is the code's modules, dark = true, without the quiet zone.
type qrMatrix struct {
	n    int
	dark []bool
}

func (m *qrMatrix) at(x, y int) bool { return m.dark[y*m.n+x] }

// matrixWriter is a qrcode.Writer that keeps the matrix.
type matrixWriter struct{ m *qrMatrix }

func (w *matrixWriter) Write(mat qrcode.Matrix) error {
	n := mat.Width()
	if n != mat.Height() || n == 0 {
		return errors.New("qr: matrix is not square")
	}
	w.m = &qrMatrix{n: n, dark: make([]bool, n*n)}
	mat.Iterate(qrcode.IterDirection_ROW, func(x, y int, v qrcode.QRValue) {
		w.m.dark[y*n+x] = v.IsSet()
	})
	return nil
}

func (w *matrixWriter) Close() error { return nil }

// encodeQR returns the QR matrix of text.
func encodeQR(text string) (*qrMatrix, error) {
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium), qrcode.WithEncodingMode(qrcode.EncModeByte))
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	w := &matrixWriter{}
	if err := q.Save(w); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return w.m, nil
}

// scale is the pixels per module for an image of about size pixels.
func (m *qrMatrix) scale(size int) int { return max(1, size/(m.n+2*qrQuiet)) }

// png renders m at about size pixels (whole pixels per module).
func (m *qrMatrix) png(size int) ([]byte, error) {
	s := m.scale(size)
	side := (m.n + 2*qrQuiet) * s
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := 0; y < m.n; y++ {
		for x := 0; x < m.n; x++ {
			if !m.at(x, y) {
				continue
			}
			for dy := 0; dy < s; dy++ {
				row := (qrQuiet+y)*s + dy
				off := img.PixOffset((qrQuiet+x)*s, row)
				for dx := 0; dx < s; dx++ {
					img.Pix[off+dx] = 1
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// svg renders m as one path of unit squares, scaled by the viewBox.
func (m *qrMatrix) svg(size int) []byte {
	s := m.scale(size)
	side := m.n + 2*qrQuiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, side*s, side*s, side, side)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, side, side)
	for y := 0; y < m.n; y++ {
		for x := 0; x < m.n; x++ {
			if m.at(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+qrQuiet, y+qrQuiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}

// ShortURL is the public short URL of code.
func (s *Server) ShortURL(code string) string {
	base := s.cfg.PublicBaseURL
	if b := s.publicBase.Load(); b != nil {
		base = *b
	}
	return strings.TrimSuffix(base, "/") + "/" + code
}

// SetPublicBaseURL replaces Config.PublicBaseURL once the server runs: a
// topology that starts its edges after its origins (the demo, on kernel
// chosen ports) learns their address only then. It validates as the
// Config does.
func (s *Server) SetPublicBaseURL(u string) error {
	if err := ValidatePublicBaseURL(u); err != nil {
		return err
	}
	s.publicBase.Store(&u)
	return nil
}

func (s *Server) linkQR(w http.ResponseWriter, r *http.Request) {
	code, ae := pathCode(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	q := r.URL.Query()
	size := defaultQRSize
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minQRSize || n > maxQRSize {
			s.writeError(w, r, badRequest("invalid_size", fmt.Sprintf("size must be %d..%d pixels", minQRSize, maxQRSize)))
			return
		}
		size = n
	}
	format := q.Get("format")
	switch format {
	case "":
		format = "png"
	case "png", "svg":
	default:
		s.writeError(w, r, badRequest("invalid_format", "format must be png or svg"))
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	if _, err := s.adminGetLink(ctx, code); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = linkNotFound(code)
		}
		s.writeError(w, r, err)
		return
	}
	m, err := encodeQR(s.ShortURL(code))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body []byte
	ctype := "image/svg+xml"
	if format == "png" {
		ctype = "image/png"
		if body, err = m.png(size); err != nil {
			s.writeError(w, r, err)
			return
		}
	} else {
		body = m.svg(size)
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
