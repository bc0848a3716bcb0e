package mailgen

import (
	"bytes"
	"io"

	"github.com/gwsadmin/workspace/mailsource"
)

// SampleInfo describes what Sample produced, so tests can assert it.
// All counts are over the whole archive, duplicates included, unless the
// name says otherwise.
type SampleInfo struct {
	Messages         int   // messages in the archive
	UniqueMessageIDs int   // distinct Message-IDs
	Duplicates       []int // indexes of the second copies of repeated messages
	DuplicateOf      []int // for each entry of Duplicates, the index of the first copy
	MalformedIndex   int   // index of the message with no Date header
	Plain            int   // single text/plain messages
	Alternative      int   // multipart/alternative messages
	Mixed            int   // multipart/mixed messages (base64 attachments)
	Replies          int   // messages with In-Reply-To and References
	List             int   // mailing-list messages (List-Id)
	EncodedWords     int   // messages with RFC 2047 encoded words in a header
	RawUTF8          int   // messages with raw UTF-8 in a header
	WithFromLines    int   // messages with a body line beginning "From "
	FromLines        int   // body lines beginning "From ", in all messages
	WithQuotedFrom   int   // messages with a body line beginning ">From "
	QuotedFromLines  int   // body lines beginning ">From ", in all messages
}

// duplicate sources (indexes among the generated messages) and how many
// messages later their second copy appears.
var sampleDups = [][2]int{{100, 2}, {640, 3}, {1210, 5}, {1777, 1}, {2345, 4}, {2900, 2}}

// Sample returns the messages of the committed sample archive for seed and
// n (testdata/sample.mbox is Sample(1, 3000)), with LF line ends as a Unix
// mbox stores them: n-6 generated messages in which the one at position
// (n-6)/2 has lost its Date header, plus six exact duplicates inserted a
// few messages after their first copy, as happens when a message reaches
// an archive twice. n must be at least 3000 for all duplicates to appear.
func Sample(seed int64, n int) ([][]byte, SampleInfo) {
	gen := n - len(sampleDups)
	g := New(seed)
	mails := make([]*Mail, gen)
	for i := range mails {
		mails[i] = g.Next()
	}
	bad := gen / 2
	mails[bad].Data = dropHeader(mails[bad].Data, "Date")

	// insertAfter[k] lists the generated messages whose duplicate comes
	// right after generated message k.
	insertAfter := map[int][]int{}
	for _, d := range sampleDups {
		if d[0]+d[1] < gen {
			insertAfter[d[0]+d[1]] = append(insertAfter[d[0]+d[1]], d[0])
		}
	}
	var info SampleInfo
	var out [][]byte
	pos := map[int]int{} // generated index -> archive index
	ids := map[string]bool{}
	add := func(m *Mail) {
		out = append(out, ToLF(m.Data))
		ids[m.MessageID] = true
		switch m.Structure {
		case Plain:
			info.Plain++
		case Alternative:
			info.Alternative++
		case Mixed:
			info.Mixed++
		}
		count := func(b bool, c *int) {
			if b {
				*c++
			}
		}
		count(m.Reply, &info.Replies)
		count(m.List, &info.List)
		count(m.EncodedWords, &info.EncodedWords)
		count(m.RawUTF8, &info.RawUTF8)
		count(m.FromLines > 0, &info.WithFromLines)
		count(m.QuotedFromLines > 0, &info.WithQuotedFrom)
		info.FromLines += m.FromLines
		info.QuotedFromLines += m.QuotedFromLines
	}
	for i, m := range mails {
		pos[i] = len(out)
		if i == bad {
			info.MalformedIndex = len(out)
		}
		add(m)
		for _, src := range insertAfter[i] {
			info.Duplicates = append(info.Duplicates, len(out))
			info.DuplicateOf = append(info.DuplicateOf, pos[src])
			add(mails[src])
		}
	}
	info.Messages = len(out)
	info.UniqueMessageIDs = len(ids)
	return out, info
}

// WriteSample writes Sample(seed, n) to w as an mboxrd.
func WriteSample(w io.Writer, seed int64, n int) (SampleInfo, error) {
	msgs, info := Sample(seed, n)
	return info, WriteMbox(w, msgs, mailsource.MboxRD)
}

// dropHeader removes the first header field called name (with its
// continuation lines) from a CRLF message.
func dropHeader(data []byte, name string) []byte {
	prefix := []byte(name + ":")
	var out bytes.Buffer
	dropping, done, inHeader := false, false, true
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		if inHeader && (string(line) == "\r\n" || string(line) == "\n") {
			inHeader = false
		}
		if inHeader && !done {
			if dropping && (line[0] == ' ' || line[0] == '\t') {
				continue
			}
			dropping = false
			if len(line) >= len(prefix) && bytes.EqualFold(line[:len(prefix)], prefix) {
				dropping, done = true, true
				continue
			}
		}
		out.Write(line)
	}
	return out.Bytes()
}
