package settings

import "errors"

// Placeholder until internal/gdata (the shared Atom + apps:property codec)
// is committed; the legacy feeds return this error until then.
var errNoCodec = errors.New("settings: the Atom codec (internal/gdata) is not available yet")

func encodeEntry(*entry) ([]byte, error) { return nil, errNoCodec }
func decodeEntry([]byte) (*entry, error) { return nil, errNoCodec }
