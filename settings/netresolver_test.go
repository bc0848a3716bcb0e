package settings_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/gwsadmin/workspace/settings"
)

// loopbackDNS serves MX answers for one zone on 127.0.0.1 (UDP), so that
// NetResolver is tested through net.Resolver without real DNS.
func loopbackDNS(t *testing.T, zone map[string][]settings.MX) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skip("no loopback UDP:", err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			name := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))
			recs, known := zone[name]
			rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true}
			if !known {
				rh.RCode = dnsmessage.RCodeNameError
			}
			b := dnsmessage.NewBuilder(nil, rh)
			b.EnableCompression()
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			if q.Type == dnsmessage.TypeMX {
				for _, m := range recs {
					_ = b.MXResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: uint32(m.TTL / time.Second)},
						dnsmessage.MXResource{Pref: m.Pref, MX: dnsmessage.MustNewName(m.Host + ".")})
				}
			}
			out, err := b.Finish()
			if err == nil {
				_, _ = pc.WriteTo(out, addr)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestNetResolver(t *testing.T) {
	addr := loopbackDNS(t, map[string][]settings.MX{
		"example.com":  {{Host: "alt1.aspmx.l.google.com", Pref: 5, TTL: 300 * time.Second}, {Host: "aspmx.l.google.com", Pref: 1, TTL: 300 * time.Second}},
		"nomx.example": nil,
	})
	nr := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
	r := &settings.NetResolver{Resolver: nr}
	rep, err := settings.CheckMX(t.Context(), &settings.MXOptions{Resolver: r, Domain: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.PointsAtGoogle || len(rep.Records) != 2 || rep.Records[0].Host != "aspmx.l.google.com" {
		t.Errorf("report: %v", rep)
	}
	// net.Resolver hides the record's TTL: the documented default stands in.
	if rep.TTL != settings.DefaultMXTTL {
		t.Errorf("TTL %v, want DefaultMXTTL", rep.TTL)
	}
	r.TTL = 10 * time.Minute
	if rep, err = settings.CheckMX(t.Context(), &settings.MXOptions{Resolver: r, Domain: "example.com"}); err != nil || rep.TTL != 10*time.Minute {
		t.Errorf("TTL override: %v %v", rep, err)
	}
	for _, d := range []string{"nomx.example", "nxdomain.example"} {
		rep, err := settings.CheckMX(t.Context(), &settings.MXOptions{Resolver: r, Domain: d})
		if err != nil || rep.PointsAtGoogle || len(rep.Records) != 0 {
			t.Errorf("%s: %v %v", d, rep, err)
		}
	}
}
