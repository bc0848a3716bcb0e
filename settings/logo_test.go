package settings_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/settings"
)

func img(w, h int, noise bool) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x), uint8(y), 80, 255}
			if noise {
				c = color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
			}
			m.Set(x, y, c)
		}
	}
	return m
}

func encode(t *testing.T, format string, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, m)
	case "jpeg":
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 80})
	case "gif":
		err = gif.Encode(&b, m, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCheckLogo(t *testing.T) {
	for _, tc := range []struct {
		name            string
		data            []byte
		format          string
		ok, warn        bool
		problemContains string
	}{
		{"png recommended", encode(t, "png", img(143, 59, false)), "png", true, false, ""},
		{"jpeg other size", encode(t, "jpeg", img(200, 80, false)), "jpeg", true, true, ""},
		{"gif", encode(t, "gif", img(143, 59, false)), "gif", true, false, ""},
		{"too big", encode(t, "png", img(143, 59, true)), "png", false, false, "20 kB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := settings.CheckLogo(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != tc.format || r.OK() != tc.ok || (len(r.Warnings) > 0) != tc.warn || r.Bytes != len(tc.data) {
				t.Errorf("report: %v", r)
			}
			if tc.problemContains != "" && (len(r.Problems) == 0 || !strings.Contains(r.Problems[0], tc.problemContains)) {
				t.Errorf("problems: %v", r.Problems)
			}
		})
	}
	r, _ := settings.CheckLogo(encode(t, "jpeg", img(200, 80, false)))
	if r.Width != 200 || r.Height != 80 || !strings.Contains(r.Warnings[0], "143×59") {
		t.Errorf("dimensions: %v", r)
	}
	// A BMP (not registered) and garbage are not images to this check.
	bmp := append([]byte("BM"), make([]byte, 60)...)
	for _, b := range [][]byte{nil, []byte("hello"), bmp} {
		if _, err := settings.CheckLogo(b); !errors.Is(err, workspace.ErrInvalidInput) {
			t.Errorf("%.8q: %v", b, err)
		}
	}
}
