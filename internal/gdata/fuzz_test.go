package gdata

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzGData feeds arbitrary bytes to every decoder. None may panic; an
// entry or feed that decodes must encode and decode back to the same
// properties, ids, links and etags; and the read bound holds.
func FuzzGData(f *testing.F) {
	f.Add([]byte(docEntry))
	f.Add([]byte(realFeed))
	f.Add([]byte(`<AppsForYourDomainErrors><error errorCode="1301" invalidInput="x" reason="EntityDoesNotExist"/></AppsForYourDomainErrors>`))
	f.Add(NewEntry(Property{"a&b", "c\nd"}).Encode())
	f.Add([]byte(`<feed><entry><id>1</id></entry><link rel='next' href='x'/></feed>`))
	f.Add([]byte(`<?xml version='1.0' encoding='ISO-8859-1'?><entry/>`))
	f.Add([]byte(`<entry xmlns='http://www.w3.org/2005/Atom'><entry><entry><entry></entry></entry></entry></entry>`))
	const limit = 4 << 10
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = DecodeErrors(bytes.NewReader(data))
		if _, err := DecodeEntryLimit(bytes.NewReader(data), limit); err == nil && len(data) > limit {
			t.Fatalf("decoded %d bytes with a %d-byte limit", len(data), limit)
		}
		if e, err := DecodeEntry(bytes.NewReader(data)); err == nil {
			back, err := DecodeEntry(bytes.NewReader(e.Encode()))
			if err != nil {
				t.Fatalf("re-decoding %q: %v", e.Encode(), err)
			}
			if d := cmp.Diff(stable(e), stable(back)); d != "" {
				t.Fatalf("entry round trip (-first +second):\n%s", d)
			}
		}
		if fd, err := DecodeFeed(bytes.NewReader(data)); err == nil {
			back, err := DecodeFeed(bytes.NewReader(fd.Encode()))
			if err != nil {
				t.Fatalf("re-decoding feed %q: %v", fd.Encode(), err)
			}
			if len(back.Entries) != len(fd.Entries) || back.Next() != fd.Next() {
				t.Fatalf("feed round trip: %d entries next %q, then %d next %q", len(fd.Entries), fd.Next(), len(back.Entries), back.Next())
			}
			for i := range fd.Entries {
				if d := cmp.Diff(stable(fd.Entries[i]), stable(back.Entries[i])); d != "" {
					t.Fatalf("feed entry %d round trip:\n%s", i, d)
				}
			}
		}
	})
}

// stable drops the times, whose precision and zone Encode normalises.
func stable(e *Entry) Entry {
	c := *e
	c.Updated, c.Edited = time.Time{}, time.Time{}
	return c
}
