package settings

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif"  // GIF logos
	_ "image/jpeg" // JPEG logos
	_ "image/png"  // PNG logos

	"github.com/gwsadmin/workspace"
)

// Logo rules of the Admin console upload (the appearance/customLogo feed
// that took logos by API was turned down in 2018): JPEG, PNG or GIF, a
// file under 20 kB, 143 × 59 pixels recommended.
const (
	// MaxLogoBytes is the size a logo must stay under. The limit is
	// "20 kB"; 20,000 bytes is used so a logo passes whichever of 20,000
	// and 20,480 bytes is meant.
	MaxLogoBytes    = 20000
	LogoWidth       = 143 // recommended width in pixels
	LogoHeight      = 59  // recommended height in pixels
	logoOp          = "settings: logo.check"
	logoFormatError = "format %q: the logo must be JPEG, PNG or GIF"
)

// LogoReport is what CheckLogo found.
type LogoReport struct {
	Format   string   // "jpeg", "png" or "gif" (or what the data was)
	Width    int      // pixels
	Height   int      // pixels
	Bytes    int      // file size
	Problems []string // what makes the upload fail: format, size
	Warnings []string // what only departs from the recommendation: dimensions
}

// OK reports whether the logo can be uploaded (warnings allowed).
func (r *LogoReport) OK() bool { return len(r.Problems) == 0 }

// String summarises the report on one line.
func (r *LogoReport) String() string {
	s := fmt.Sprintf("%s %d×%d, %d bytes", r.Format, r.Width, r.Height, r.Bytes)
	for _, p := range r.Problems {
		s += "; problem: " + p
	}
	for _, w := range r.Warnings {
		s += "; warning: " + w
	}
	return s
}

// CheckLogo checks an image against the Admin console's logo rules before
// a person uploads it there (there is no API for the logo any more). It
// reads only the image header. The error is for data that is not an image
// at all (it matches workspace.ErrInvalidInput); a decodable image that
// breaks a rule gives a report with Problems.
func CheckLogo(img []byte) (*LogoReport, error) {
	if len(img) == 0 {
		return nil, &workspace.InputError{Op: logoOp, Field: "image", Reason: "empty"}
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		return nil, &workspace.InputError{Op: logoOp, Field: "image", Reason: "not a JPEG, PNG or GIF image", Err: err}
	}
	r := &LogoReport{Format: format, Width: cfg.Width, Height: cfg.Height, Bytes: len(img)}
	switch format {
	case "jpeg", "png", "gif":
	default: // another decoder registered in the program (webp, bmp, ...)
		r.Problems = append(r.Problems, fmt.Sprintf(logoFormatError, format))
	}
	if len(img) >= MaxLogoBytes {
		r.Problems = append(r.Problems, fmt.Sprintf("%d bytes: the logo must be under 20 kB (%d bytes)", len(img), MaxLogoBytes))
	}
	if cfg.Width != LogoWidth || cfg.Height != LogoHeight {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d×%d pixels: %d×%d is recommended", cfg.Width, cfg.Height, LogoWidth, LogoHeight))
	}
	return r, nil
}
