package main

import (
	"bytes"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/workspacetest"
)

// The demo's sources, written at run time into one folder, and the groups
// they go to (local parts; the fake's domain is added).
const (
	demoArchive  = "list-archive.mbox" // mailgen sample plus one message over 25 MiB
	demoExported = "exported"          // .eml files saved from mail clients
	demoMaildir  = "announce-maildir"  // a Maildir of generated messages
	demoBounces  = "bounces"           // delivery reports, as real MTAs write them
	demoNetscape = "Inbox"             // a Netscape Communicator mail folder (an mbox without extension)

	groupArchive    = "archive"
	groupAnnounce   = "announce"
	groupPostmaster = "postmaster"
	groupLegacy     = "legacy"

	maildirMessages = 500

	// sharedMessageID is used by two different messages of demoExported.
	sharedMessageID = "<nightly-report@backup01.example.org>"
	// datelessMessageID is the message of demoExported without a Date.
	datelessMessageID = "<5CC7A1B2.4030607@example.org>"
)

// demoSetup is what demoSources made.
type demoSetup struct {
	jobs []migrate.Job
	// messages is how many messages the sources hold.
	messages int
	// groups is how many groups they go to.
	groups int
}

// demoSources writes the demo's sources into dir (the same bytes every
// time, so a second run with the same folder resumes from its journals)
// and seeds their groups in srv.
// The list archive holds mailgen.Sample(1, sample) (which needs at least
// 3,000 messages for all its duplicates to appear) and one message over
// the size limit.
func demoSources(dir string, srv *workspacetest.Server, sample int) (demoSetup, error) {
	var setup demoSetup
	seen := map[string]bool{}
	group := func(local string) string {
		addr := local + "@" + srv.Domain()
		if !seen[addr] {
			seen[addr] = true
			setup.groups++
			srv.AddGroup(addr)
		}
		return addr
	}
	add := func(source, target string, n int) {
		setup.jobs = append(setup.jobs, migrate.Job{Source: filepath.Join(dir, source), Target: group(target)})
		setup.messages += n
	}

	n, err := writeListArchive(filepath.Join(dir, demoArchive), sample)
	if err != nil {
		return setup, err
	}
	add(demoArchive, groupArchive, n)

	exported := exportedMessages()
	if err := writeFiles(filepath.Join(dir, demoExported), exported); err != nil {
		return setup, err
	}
	add(demoExported, groupArchive, len(exported))

	maildir := filepath.Join(dir, demoMaildir)
	if err := os.RemoveAll(maildir); err != nil {
		return setup, err
	}
	if err := mailgen.WriteMaildir(maildir, mailgen.Messages(2, maildirMessages)); err != nil {
		return setup, err
	}
	add(demoMaildir, groupAnnounce, maildirMessages)

	bounces := bounceMessages()
	if err := writeFiles(filepath.Join(dir, demoBounces), bounces); err != nil {
		return setup, err
	}
	add(demoBounces, groupPostmaster, len(bounces))

	folder, count := netscapeFolder()
	if err := os.WriteFile(filepath.Join(dir, demoNetscape), folder, 0o644); err != nil {
		return setup, err
	}
	add(demoNetscape, groupLegacy, count)
	return setup, nil
}

// writeListArchive writes the generated list archive as an mboxrd and
// returns how many messages it holds. Envelope lines carry the delivery
// time, as a mail server writes them; for the message that lost its Date
// header that is the only date left (the Repair policy uses it).
func writeListArchive(path string, sample int) (int, error) {
	msgs, _ := mailgen.Sample(1, sample)
	largeIndex := len(msgs) * 3 / 5
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	mw, err := mailsource.NewMboxWriter(f, mailsource.MboxRD)
	if err != nil {
		f.Close()
		return 0, err
	}
	var last time.Time
	for i, m := range msgs {
		if i == largeIndex {
			if err := mw.WriteMessage(mailgen.LargeMessage(datatransfer.MaxMessageSize + 512<<10)); err != nil {
				f.Close()
				return 0, err
			}
		}
		sender, date := envelopeOf(m)
		if date.IsZero() {
			date = last.Add(7*time.Minute + 13*time.Second)
		}
		last = date
		if err := mw.WriteMessageEnvelope(sender, date.UTC(), m); err != nil {
			f.Close()
			return 0, err
		}
	}
	if err := mw.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return len(msgs) + 1, f.Close()
}

// envelopeOf returns a message's sender address and date, as an MTA puts
// them on the envelope line (zero when missing).
func envelopeOf(m []byte) (string, time.Time) {
	msg, err := mail.ReadMessage(bytes.NewReader(m))
	if err != nil {
		return "MAILER-DAEMON", time.Time{}
	}
	sender := "MAILER-DAEMON"
	if a, err := mail.ParseAddress(msg.Header.Get("From")); err == nil && a.Address != "" {
		sender = a.Address
	}
	d, _ := msg.Header.Date()
	return sender, d
}

// demoFile is one message file of a folder source.
type demoFile struct {
	name string
	data []byte
}

// writeFiles replaces dir's content with files.
func writeFiles(dir string, files []demoFile) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// lines joins ls with eol after each, so that a message can be written
// with CRLF or LF line ends.
func lines(eol string, ls ...string) []byte {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l)
		b.WriteString(eol)
	}
	return []byte(b.String())
}

// exportedMessages are .eml files saved one by one from mail clients and
// scripts: one without a Date header (refused locally unless the policy is
// Repair, which takes the date of its newest Received header), and two
// different reports from a backup script that gives every message the
// same Message-ID (both must be stored).
func exportedMessages() []demoFile {
	return []demoFile{
		{"2019-04-30 Re minutes.eml", lines("\n",
			"Received: from [192.0.2.41] (unknown [192.0.2.41])",
			"\tby mail.example.org (Postfix) with ESMTPSA id 4F2A81C0312",
			"\tfor <archive@example.org>; Tue, 30 Apr 2019 09:58:41 +0200 (CEST)",
			"Received: from laptop.local ([10.0.0.12]) by [192.0.2.41]",
			"\t(Sendmail 8.15.2); Tue, 30 Apr 2019 09:58:39 +0200",
			"From: Grete Lindqvist <grete@example.org>",
			"To: archive@example.org",
			"Subject: Re: minutes of the April meeting",
			"Message-ID: "+datelessMessageID,
			"In-Reply-To: <5CC6F3D0.9010203@example.org>",
			"User-Agent: a homemade script that forgot the Date header",
			"MIME-Version: 1.0",
			"Content-Type: text/plain; charset=utf-8",
			"",
			"The minutes look right to me. One correction: the budget vote was",
			"7 to 2, not 8 to 1.",
			"",
			"Grete",
		)},
		{"nightly-report-2019-05-01.eml", lines("\r\n",
			"Date: Wed, 1 May 2019 02:00:03 +0000",
			"From: backup@backup01.example.org",
			"To: admins@example.org",
			"Subject: [backup01] nightly backup: OK",
			"Message-ID: "+sharedMessageID,
			"",
			"Backup of /srv finished at 02:00:03 UTC.",
			"Files: 182,204  Size: 41.7 GB  Errors: 0",
		)},
		{"nightly-report-2019-05-02.eml", lines("\r\n",
			"Date: Thu, 2 May 2019 02:00:04 +0000",
			"From: backup@backup01.example.org",
			"To: admins@example.org",
			"Subject: [backup01] nightly backup: 3 ERRORS",
			"Message-ID: "+sharedMessageID,
			"",
			"Backup of /srv finished at 02:00:04 UTC.",
			"Files: 182,231  Size: 41.8 GB  Errors: 3",
			"  /srv/db/pg.sock: socket skipped",
			"  /srv/tmp/lock: vanished",
			"  /srv/home/k/.cache: permission denied",
		)},
	}
}

// bounceMessages are delivery reports as MTAs write them, with the odd
// addresses and dates found in real list archives, one of them saved with
// its mbox envelope line still at the top.
func bounceMessages() []demoFile {
	const sendmailBoundary = "x3U0BCa1012345.1556586672/mail.example.org"
	const postfixBoundary = "8A3B81C0345.1556586675/mx.example.org"
	return []demoFile{
		// Sendmail: the sender is a bare local name in angle brackets.
		{"01-sendmail-user-unknown.eml", lines("\r\n",
			"Return-Path: <>",
			"Received: from localhost (localhost)",
			"\tby mail.example.org (8.14.4/8.14.4) id x3U0BCa1012345;",
			"\tTue, 30 Apr 2019 09:11:12 +0900",
			"Date: Tue, 30 Apr 2019 09:11:12 +0900",
			"From: Mail Delivery Subsystem <MAILER-DAEMON>",
			"Message-Id: <201904300011.x3U0BCa1012345@mail.example.org>",
			"To: <list-bounces@example.org>",
			"MIME-Version: 1.0",
			`Content-Type: multipart/report; report-type=delivery-status;`,
			`	boundary="`+sendmailBoundary+`"`,
			"Subject: Returned mail: see transcript for details",
			"Auto-Submitted: auto-generated (failure)",
			"",
			"This is a MIME-encapsulated message",
			"",
			"--"+sendmailBoundary,
			"",
			"The original message was received at Tue, 30 Apr 2019 09:11:10 +0900",
			"from list.example.org [192.0.2.10]",
			"",
			"   ----- The following addresses had permanent fatal errors -----",
			"<old.member@example.net>",
			"    (reason: 550 5.1.1 <old.member@example.net>... User unknown)",
			"",
			"--"+sendmailBoundary,
			"Content-Type: message/delivery-status",
			"",
			"Reporting-MTA: dns; mail.example.org",
			"Received-From-MTA: DNS; list.example.org",
			"Arrival-Date: Tue, 30 Apr 2019 09:11:10 +0900",
			"",
			"Final-Recipient: RFC822; old.member@example.net",
			"Action: failed",
			"Status: 5.1.1",
			"Remote-MTA: DNS; mx.example.net",
			"Diagnostic-Code: SMTP; 550 5.1.1 <old.member@example.net>... User unknown",
			"Last-Attempt-Date: Tue, 30 Apr 2019 09:11:12 +0900",
			"",
			"--"+sendmailBoundary,
			"Content-Type: text/rfc822-headers",
			"",
			"Return-Path: <list-bounces@example.org>",
			"From: Ann Example <ann@example.org>",
			"To: list@example.org",
			"Subject: Spring meeting",
			"Date: Tue, 30 Apr 2019 09:11:05 +0900",
			"Message-ID: <spring-meeting-1@example.org>",
			"",
			"--"+sendmailBoundary+"--",
		)},
		// An empty address after the name, a bare local recipient, and a
		// day of the month with three digits.
		{"02-odd-date.eml", lines("\n",
			"Date: Tue, 029 Apr 2019 10:11:12 +0900",
			"From: MAILER-DAEMON <>",
			"To: postmaster",
			"Subject: Warning: could not send message for past 4 hours",
			"Message-ID: <201904290111.x3T1BCb0099887@relay.example.org>",
			"Auto-Submitted: auto-generated (delay)",
			"MIME-Version: 1.0",
			`Content-Type: multipart/report; report-type=delivery-status; boundary="delay-29"`,
			"",
			"--delay-29",
			"Content-Type: text/plain; charset=us-ascii",
			"",
			"    **********************************************",
			"    **      THIS IS A WARNING MESSAGE ONLY      **",
			"    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **",
			"    **********************************************",
			"",
			"Will keep trying for 4 more days.",
			"",
			"--delay-29",
			"Content-Type: message/delivery-status",
			"",
			"Reporting-MTA: dns; relay.example.org",
			"",
			"Final-Recipient: RFC822; slow@example.com",
			"Action: delayed",
			"Status: 4.4.7",
			"Will-Retry-Until: Sat, 4 May 2019 06:11:12 +0900",
			"",
			"--delay-29--",
		)},
		// Postfix, saved from an mbox with its envelope line.
		{"03-postfix-mailbox-full.eml", lines("\n",
			"From MAILER-DAEMON Tue Apr 30 01:11:15 2019",
			"Return-Path: <>",
			"Date: Tue, 30 Apr 2019 10:11:15 +0900 (JST)",
			"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)",
			"Subject: Undelivered Mail Returned to Sender",
			"To: list-bounces@example.org",
			"Auto-Submitted: auto-replied",
			"MIME-Version: 1.0",
			"Content-Type: multipart/report; report-type=delivery-status;",
			`	boundary="`+postfixBoundary+`"`,
			"Message-Id: <20190430011115.8A3B81C0345@mx.example.org>",
			"",
			"This is a MIME-encapsulated message.",
			"",
			"--"+postfixBoundary,
			"Content-Description: Notification",
			"Content-Type: text/plain; charset=us-ascii",
			"",
			"This is the mail system at host mx.example.org.",
			"",
			"I'm sorry to have to inform you that your message could not",
			"be delivered to one or more recipients.",
			"",
			"<busy.person@example.com>: host mx.example.com[203.0.113.5] said: 552 5.2.2",
			"    Mailbox full (in reply to RCPT TO command)",
			"",
			"--"+postfixBoundary,
			"Content-Description: Delivery report",
			"Content-Type: message/delivery-status",
			"",
			"Reporting-MTA: dns; mx.example.org",
			"X-Postfix-Queue-ID: 8A3B81C0345",
			"Arrival-Date: Tue, 30 Apr 2019 10:11:14 +0900 (JST)",
			"",
			"Final-Recipient: rfc822; busy.person@example.com",
			"Action: failed",
			"Status: 5.2.2",
			"Diagnostic-Code: smtp; 552 5.2.2 Mailbox full",
			"",
			"--"+postfixBoundary,
			"Content-Description: Undelivered Message Headers",
			"Content-Type: text/rfc822-headers",
			"",
			"From: Ann Example <ann@example.org>",
			"To: list@example.org",
			"Subject: Spring meeting",
			"",
			"--"+postfixBoundary+"--",
		)},
		// qmail: plain text, no MIME, no Message-ID.
		{"04-qmail.eml", lines("\n",
			"Date: 30 Apr 2019 01:20:44 -0000",
			"From: MAILER-DAEMON@mail.example.net",
			"To: list-bounces@example.org",
			"Subject: failure notice",
			"",
			"Hi. This is the qmail-send program at mail.example.net.",
			"I'm afraid I wasn't able to deliver your message to the following addresses.",
			"This is a permanent error; I've given up. Sorry it didn't work out.",
			"",
			"<gone@example.net>:",
			"Sorry, no mailbox here by that name. (#5.1.1)",
			"",
			"--- Below this line is a copy of the message.",
			"",
			"From: Ann Example <ann@example.org>",
			"Subject: Spring meeting",
		)},
		// Exchange: a delay notice to the postmaster, CRLF.
		{"05-exchange-delayed.eml", lines("\r\n",
			"From: postmaster@corp.example.com",
			"To: postmaster@example.org",
			"Date: Tue, 30 Apr 2019 03:40:00 +0000",
			"Subject: Delivery delayed:Spring meeting",
			"Thread-Topic: Spring meeting",
			"Thread-Index: AQHU/0Yx8a3sdfQ==",
			"Message-ID: <f3b2a1c0-0b1e-4c57-9d7e-2d4a77c01b9e@EXCH01.corp.example.com>",
			"Content-Language: en-US",
			"X-MS-Exchange-Generated-Message-Source: Delivery Status Notification",
			"MIME-Version: 1.0",
			`Content-Type: multipart/report; report-type=delivery-status; boundary="_000_exch_"`,
			"",
			"--_000_exch_",
			"Content-Type: text/plain; charset=us-ascii",
			"",
			"Delivery is delayed to these recipients or groups:",
			"",
			"j.smith@corp.example.com",
			"",
			"This message hasn't been delivered yet. Delivery will continue to be attempted.",
			"",
			"--_000_exch_",
			"Content-Type: message/delivery-status",
			"",
			"Reporting-MTA: dns;EXCH01.corp.example.com",
			"",
			"Final-Recipient: rfc822;j.smith@corp.example.com",
			"Action: delayed",
			"Status: 4.4.7",
			"",
			"--_000_exch_--",
		)},
	}
}

// netscapeFolder returns a Netscape Communicator mail folder (CRLF, as
// written on Windows) and how many messages it holds: "From - " envelope
// lines, one without a date, X-Mozilla-Status headers, and Content-Length
// headers.
func netscapeFolder() ([]byte, int) {
	type msg struct {
		envelope string
		status   string
		header   []string
		body     []string
	}
	msgs := []msg{
		{"From - Thu Aug 11 10:27:01 2005", "0001", []string{
			"Message-ID: <42FB0C12.6020304@example.com>",
			"Date: Thu, 11 Aug 2005 10:26:58 +0200",
			"From: Ann Example <ann@example.com>",
			"User-Agent: Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.7.8) Gecko/20050511",
			"To: legacy@example.com",
			"Subject: Minutes",
		}, []string{"Minutes attached as text below.", "", "1. Budget approved."}},
		{"From - Thu Aug 11 11:02:44 2005", "0011", []string{
			"Message-ID: <42FB1554.1000908@example.com>",
			"Date: Thu, 11 Aug 2005 11:02:40 +0200",
			"From: Bob Example <bob@example.com>",
			"To: legacy@example.com",
			"Subject: Re: Minutes",
		}, []string{"Thanks Ann.", "", "From the desk of Bob: budget looks fine.", "", "Bob"}},
		{"From - ", "0003", []string{ // the envelope line has no date
			"Message-ID: <42FC2A00.7080105@example.com>",
			"Date: Fri, 12 Aug 2005 06:45:20 +0200",
			"From: Cy Example <cy@example.com>",
			"To: legacy@example.com",
			"Subject: forwarded log",
		}, []string{"The log of last night, as it came:", ""}},
		{"From - Fri Aug 12 09:15:07 2005", "0001", []string{
			"Message-ID: <42FC4D5B.3010002@example.com>",
			"Date: Fri, 12 Aug 2005 09:15:03 +0200",
			"From: Di Example <di@example.com>",
			"To: legacy@example.com",
			"Subject: old mbox pasted in",
		}, []string{"The old thread, pasted below:", "",
			"From - Wed Aug 10 08:00:00 2005", // looks like an envelope line; Content-Length keeps it in
			"Subject: the old thread", "", "text of the old thread"}},
		{"From - Sat Aug 13 08:00:00 2005", "0000", []string{
			"Message-ID: <42FD8B00.5000506@example.com>",
			"Date: Sat, 13 Aug 2005 08:00:00 +0200",
			"From: Ed Example <ed@example.com>",
			"To: legacy@example.com",
			"Subject: unread, no Content-Length",
		}, []string{"Last one."}},
	}
	var out bytes.Buffer
	for i, m := range msgs {
		body := lines("\r\n", m.body...)
		out.Write(lines("\r\n", m.envelope, "X-Mozilla-Status: "+m.status, "X-Mozilla-Status2: 00000000"))
		out.Write(lines("\r\n", m.header...))
		if i != len(msgs)-1 {
			fmt.Fprintf(&out, "Content-Length: %d\r\n", len(body))
		}
		out.WriteString("\r\n")
		out.Write(body)
		out.WriteString("\r\n")
	}
	return out.Bytes(), len(msgs)
}
