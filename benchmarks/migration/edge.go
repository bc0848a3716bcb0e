package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/workspacetest"
)

// edgeCase is a synthetic message written as one .eml file: shapes real
// archives hold that the sisimai corpus happens not to.
type edgeCase struct {
	name string
	data []byte
}

const (
	edgeFrom = "From: Alice <alice@example.org>\r\n"
	edgeTo   = "To: list@example.com\r\n"
	edgeDate = "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
)

func edgeMsg(id string, header string) []byte {
	return []byte(header + "Subject: edge case " + id + "\r\nMessage-ID: <" + id + "@edge.example>\r\n\r\nBody of " + id + ".\r\n")
}

// edgeCases returns the synthetic messages, named after what they test.
func edgeCases() []edgeCase {
	lf := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }
	cr := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\r")) }
	plain := edgeFrom + edgeTo + edgeDate
	big := func(id string, lines int, lineLen int) []byte {
		var b bytes.Buffer
		b.WriteString(plain + "Subject: " + id + "\r\nMessage-ID: <" + id + "@edge.example>\r\n\r\n")
		line := strings.Repeat("x", lineLen) + "\r\n"
		for range lines {
			b.WriteString(line)
		}
		return b.Bytes()
	}
	cases := []edgeCase{
		{"01-plain.eml", edgeMsg("plain", plain)},
		{"02-lf-line-ends.eml", lf(edgeMsg("lf", plain))},
		{"03-cr-line-ends.eml", cr(edgeMsg("cr", plain))},
		{"04-stray-envelope.eml", append([]byte("From alice@example.org Mon Jan  1 10:00:00 2024\r\n"), edgeMsg("envelope", plain)...)},
		{"05-quoted-envelope.eml", append([]byte(">From alice@example.org Mon Jan  1 10:00:00 2024\n"), lf(edgeMsg("quoted-envelope", plain))...)},
		{"06-byte-order-mark.eml", append([]byte("\xef\xbb\xbf"), edgeMsg("bom", plain)...)},
		{"07-no-date.eml", edgeMsg("no-date", edgeFrom+edgeTo)},
		{"08-blank-to.eml", edgeMsg("blank-to", edgeFrom+"To:   \r\n"+edgeDate)},
		{"09-cc-not-to.eml", edgeMsg("cc-only", edgeFrom+"Cc: list@example.com\r\n"+edgeDate)},
		{"10-to-folded-onto-next-line.eml", edgeMsg("folded-to", edgeFrom+"To:\r\n list@example.com\r\n"+edgeDate)},
		{"11-to-twice-one-blank.eml", edgeMsg("to-twice", edgeFrom+"To:\r\n"+edgeTo+edgeDate)},
		{"12-space-before-colon.eml", edgeMsg("space-colon", edgeFrom+edgeTo+"Date : Mon, 1 Jan 2024 10:00:00 +0000\r\n")},
		{"13-mailer-daemon-no-at.eml", edgeMsg("daemon", "From: Mail Delivery Subsystem <MAILER-DAEMON>\r\nTo: postmaster\r\nDate: Tue, 029 Apr 2019 10:00:00 +0900\r\n")},
		{"14-raw-utf8-header.eml", edgeMsg("utf8", "From: Jörg Müller <joerg@example.org>\r\n"+edgeTo+edgeDate)},
		{"15-non-field-line-in-header.eml", edgeMsg("garbage-line", plain+"this line is not a field\r\n")},
		{"16-header-only.eml", []byte(plain + "Message-ID: <header-only@edge.example>\r\n")},
		{"17-no-header.eml", []byte("Hello,\r\nthis file has no header at all.\r\n")},
		{"18-whitespace-only.eml", []byte(" \r\n\t\r\n\r\n")},
		{"19-identical-to-01.eml", edgeMsg("plain", plain)},
		{"20-same-id-other-body.eml", []byte(plain + "Subject: edge case plain\r\nMessage-ID: <plain@edge.example>\r\n\r\nAnother body.\r\n")},
		{"21-over-25-mib.eml", big("big", 26_300, 1_000)},
		// 25 MiB - 16 KiB with LF line ends: over the limit once CRLF.
		{"22-over-limit-only-with-crlf.eml", lf(big("grows", 25_815, 1_014))},
		{"23-date-folded-onto-next-line.eml", edgeMsg("folded-date", edgeFrom+edgeTo+"Date:\r\n\tMon, 1 Jan 2024 10:00:00 +0000\r\n")},
		{"24-first-line-folded-field.eml", edgeMsg("first-folded", "X-Note:\r\n  folded\r\n"+plain)},
		{"26-from-space-colon-first.eml", edgeMsg("from-space-colon", "From : alice@example.org\r\n"+edgeTo+edgeDate)},
		{"25-upper-case-names.eml", edgeMsg("upper", "FROM: alice@example.org\r\nTO: list@example.com\r\nDATE: Mon, 1 Jan 2024 10:00:00 +0000\r\n")},
	}
	return cases
}

// edgeMode migrates the synthetic cases with the default policy and
// applies the corpus checks to them.
func edgeMode(c *checks) error {
	tmp, err := os.MkdirTemp("", "migration-edge-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "edge")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	cases := edgeCases()
	for _, ec := range cases {
		if err := os.WriteFile(filepath.Join(dir, ec.name), ec.data, 0o644); err != nil {
			return err
		}
	}
	src := &corpusSource{label: "edge/", path: dir, group: "edge-cases"}
	if src.own, err = readEMLFolder(dir); err != nil {
		return err
	}
	for _, m := range src.own {
		analyse(m)
	}
	msgs, err := readAll(dir)
	if err != nil {
		return err
	}
	src.reader = len(msgs)
	r, err := migrateCorpus(context.Background(), migrate.Standard, src)
	if err != nil {
		return err
	}
	defer r.srv.Close()
	t := r.target(src)
	// The fake's own verdict on each case, sent as this program
	// normalizes it, straight to archive.insert without the library.
	direct := "edge-direct@" + r.srv.Domain()
	r.srv.AddGroup(direct)
	fakeSays := map[int]string{}
	var disagree []string
	for _, m := range src.own {
		ok, answer, err := rawInsert(r.srv, direct, m.norm)
		if err != nil {
			return err
		}
		fakeSays[m.index] = "accept"
		if !ok {
			fakeSays[m.index] = "refuse: " + clipText(answer, 50)
		}
		if ok != m.accepted {
			disagree = append(disagree, fmt.Sprintf("%s: documents %v, fake %s", m.name, m.accepted, fakeSays[m.index]))
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "case\tbytes\tdocuments (own check)\tfake (raw POST)\tengine (standard)\tstored\treason given")
	stored := r.srv.GroupMessages(t)
	for _, m := range src.own {
		verdict := "accept"
		if !m.accepted {
			verdict = "refuse: " + m.refusal
		}
		n := 0
		for _, sm := range stored {
			if _, k := identity(sm.Raw); k == m.key {
				n++
			}
		}
		reason := ""
		for _, it := range slices.Concat(r.rep.RefusedLocally, r.rep.RefusedByGoogle, r.rep.Failed) {
			if it.Index == m.index {
				reason = clipText(it.Reason, 70)
			}
		}
		if ev, ok := r.events[t][m.index]; ok && ev.Status == migrate.Duplicate {
			reason = "duplicate"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%s\n", m.name, len(m.raw), verdict, fakeSays[m.index], r.short(t, m), n, reason)
	}
	tw.Flush()
	c.check(len(disagree) == 0, "edge/: the fake's verdicts (raw POST) match the documents (own check)", "%d differ%s", len(disagree), listSuffix(disagree))
	c.check(src.reader == len(src.own), "edge/: reader count", "reader %d, files %d", src.reader, len(src.own))
	checkStored(c, r, src)
	checkSums(c, "edge/ standard", r.rep, len(src.own))
	checkRepairsListed(c, "edge/ standard", r, src)
	return nil
}

// rawInsert posts msg to the fake's archive.insert as a media upload,
// bypassing the library, and returns whether it was stored and, if not,
// the fake's answer.
func rawInsert(srv *workspacetest.Server, group string, msg []byte) (bool, string, error) {
	u := srv.URL + "/upload/groups/v1/groups/" + url.PathEscape(group) + "/archive?uploadType=media"
	resp, err := srv.Client().Post(u, "message/rfc822", bytes.NewReader(msg))
	if err != nil {
		return false, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return false, "", err
	}
	if resp.StatusCode == http.StatusOK {
		return true, "", nil
	}
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return false, e.Error.Message, nil
	}
	return false, resp.Status, nil
}
