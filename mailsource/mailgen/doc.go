// Package mailgen generates realistic, deterministic test mail for the
// mailsource package, its benchmarks and demos.
//
// New(seed) returns a Generator whose messages vary the way a real archive
// does: senders with ASCII, German, French, Japanese, Chinese, Russian,
// Greek and emoji names (as RFC 2047 encoded words, and in about one
// message in eight as raw UTF-8), mailing-list traffic (List-Id,
// List-Post, List-Unsubscribe, Precedence), threads (Re: subjects,
// In-Reply-To, References, quoted text), single text/plain bodies (7bit,
// 8bit or quoted-printable), multipart/alternative with an HTML part and
// multipart/mixed with base64 attachments (some with RFC 2231 non-ASCII
// file names), several Received hops, dates in various zones and spellings,
// and body lines beginning with "From " (prose, a forwarded envelope line
// after an empty line) or ">From ", which mbox writers must escape. Every
// message has a unique Message-ID, CRLF line ends and passes
// mailsource.Validate. The same seed always yields the same bytes; the
// generator uses its own random number generator, not math/rand.
//
// Messages is the slice form; WriteMbox, WriteEMLDir and WriteMaildir lay
// messages out as archives; WriteLargeMessage and LargeMessage build a
// valid message of an exact size (for the 25 MiB limit); WriteLargeMbox
// streams archives of any size in constant memory; Sample and WriteSample
// build the committed testdata/sample.mbox (duplicates and one message
// without a Date included) and report what it holds.
//
// The command benchmarks/gensample writes the sample or a large mbox.
package mailgen
