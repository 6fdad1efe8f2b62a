package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/shm"
)

const testToken = "0123456789abcdef0123456789abcdef"

// testHMI serves the HMI over a real listener on 127.0.0.1, with images
// in private memory and no scan: what the tests check is what the HMI
// lets through to the input image.
type testHMI struct {
	t        *testing.T
	addr     string // host:port
	p        *plc
	in       *shm.Image[Inputs]
	shutdown atomic.Int32
}

func newTestHMI(t *testing.T) *testHMI {
	t.Helper()
	in, err := shm.NewImage[Inputs](shm.PrivateRegion(shm.ImageSize[Inputs]()))
	if err != nil {
		t.Fatal(err)
	}
	out, err := shm.NewImage[Outputs](shm.PrivateRegion(shm.ImageSize[Outputs]()))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	th := &testHMI{t: t, addr: ln.Addr().String(), in: in}
	th.p = &plc{log: newLogger(io.Discard), out: func() *shm.Image[Outputs] { return out }}
	th.p.ctl = newController(func() *shm.Image[Inputs] { return in }, th.p.log, Inputs{SetpointC: 40})
	th.p.ctl.publish()
	h := newHMI(th.p, func() { th.shutdown.Add(1) }, hmiOptions{token: testToken, addr: th.addr, bindHost: "127.0.0.1:0"})
	go h.serve(ln)
	t.Cleanup(h.close)
	return th
}

// do sends a request with the given headers (Host is set through
// req.Host) and returns the status and body.
func (th *testHMI) do(method, path, body string, hdr map[string]string) (int, string) {
	th.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, "http://"+th.addr+path, strings.NewReader(body))
	if err != nil {
		th.t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		th.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// inputs reads the input image as the scan would see it.
func (th *testHMI) inputs() Inputs {
	th.t.Helper()
	var v Inputs
	if !th.in.Read(&v) {
		th.t.Fatal("reading the input image failed")
	}
	return v
}

func good() map[string]string {
	return map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json"}
}

func with(h map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(h, kv[i])
		} else {
			h[kv[i]] = kv[i+1]
		}
	}
	return h
}

// TestHMIRefusesAttacks sends the requests of the attacks the HMI must
// stop and checks that each is refused and changes nothing.
func TestHMIRefusesAttacks(t *testing.T) {
	th := newTestHMI(t)
	_, port, _ := net.SplitHostPort(th.addr)
	before := th.inputs()
	for _, tc := range []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     []int // any of these
	}{
		// The curl of the issue: a web page's cross-site simple request.
		{"evil origin, text/plain, no token", "POST", "/inputs", `{"fault":"kill"}`,
			map[string]string{"Origin": "https://evil.example", "Content-Type": "text/plain"}, []int{401, 403}},
		{"no token", "POST", "/inputs", `{"enable":true}`, with(good(), "Authorization", ""), []int{401}},
		{"wrong token", "POST", "/inputs", `{"enable":true}`, with(good(), "Authorization", "Bearer "+strings.Repeat("0", len(testToken))), []int{401}},
		{"token prefix", "POST", "/inputs", `{"enable":true}`, with(good(), "Authorization", "Bearer "+testToken[:16]), []int{401}},
		{"basic auth", "POST", "/inputs", `{"enable":true}`, with(good(), "Authorization", "Basic "+testToken), []int{401}},
		{"evil origin with the token", "POST", "/inputs", `{"enable":true}`, with(good(), "Origin", "https://evil.example"), []int{403}},
		{"origin of another port", "POST", "/inputs", `{"enable":true}`, with(good(), "Origin", "http://127.0.0.1:1"), []int{403}},
		{"text/plain with the token", "POST", "/inputs", `{"enable":true}`, with(good(), "Content-Type", "text/plain"), []int{415}},
		{"form with the token", "POST", "/inputs", `{"enable":true}`, with(good(), "Content-Type", "application/x-www-form-urlencoded"), []int{415}},
		{"rebound host with the token", "POST", "/inputs", `{"enable":true}`, with(good(), "Host", "evil.example:"+port), []int{403}},
		{"duplicate keys", "POST", "/inputs", `{"door":true,"door":false,"enable":true}`, good(), []int{400}},
		{"keys differing in case", "POST", "/inputs", `{"enable":false,"Enable":true}`, good(), []int{400}},
		{"unknown field", "POST", "/inputs", `{"enable":true,"interlock":"off"}`, good(), []int{400}},
		{"NaN setpoint", "POST", "/inputs", `{"setpoint_c":NaN,"enable":true}`, good(), []int{400}},
		{"NaN setpoint as a string", "POST", "/inputs", `{"setpoint_c":"NaN","enable":true}`, good(), []int{400}},
		{"infinite setpoint", "POST", "/inputs", `{"setpoint_c":1e999,"enable":true}`, good(), []int{400}},
		{"setpoint beyond range", "POST", "/inputs", `{"setpoint_c":1e300,"enable":true}`, good(), []int{400}},
		{"shutdown, evil origin", "POST", "/shutdown", "", map[string]string{"Origin": "https://evil.example"}, []int{401, 403}},
		{"shutdown, no origin, no token", "POST", "/shutdown", "", map[string]string{"Content-Type": "application/json"}, []int{401}},
		{"shutdown, same origin, no token", "POST", "/shutdown", "", map[string]string{"Origin": "http://" + th.addr, "Content-Type": "application/json"}, []int{401}},
		{"image for a rebound host", "GET", "/image", "", map[string]string{"Host": "evil.example:" + port}, []int{403}},
		{"image for the right host, wrong port", "GET", "/image", "", map[string]string{"Host": "127.0.0.1:1"}, []int{403}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := th.do(tc.method, tc.path, tc.body, tc.hdr)
			ok := false
			for _, w := range tc.want {
				ok = ok || code == w
			}
			if !ok {
				t.Errorf("%s %s: %d %q, want one of %v", tc.method, tc.path, code, body, tc.want)
			}
			if got := th.inputs(); got != before {
				t.Errorf("inputs changed to %+v, want %+v kept", got, before)
			}
			if n := th.shutdown.Load(); n != 0 {
				t.Errorf("shutdown called %d times", n)
			}
		})
	}
}

// TestHMIHappyPath: with the token, the right headers and a valid body,
// the HMI changes the inputs and shuts down; GET /image answers every
// loopback name.
func TestHMIHappyPath(t *testing.T) {
	th := newTestHMI(t)
	_, port, _ := net.SplitHostPort(th.addr)
	for _, host := range []string{th.addr, "localhost:" + port, "LOCALHOST:" + port} {
		if code, body := th.do("GET", "/image", "", map[string]string{"Host": host}); code != 200 || !strings.Contains(body, `"setpoint_c": 40`) {
			t.Errorf("GET /image, Host %s: %d %q", host, code, body)
		}
	}
	code, body := th.do("POST", "/inputs", `{"setpoint_c":60,"enable":true}`, with(good(), "Origin", "http://"+th.addr))
	if code != 200 {
		t.Fatalf("POST /inputs: %d %q", code, body)
	}
	if got := th.inputs(); got.SetpointC != 60 || !got.Enable {
		t.Errorf("inputs %+v after the POST, want setpoint 60, enabled", got)
	}
	if code, body := th.do("POST", "/inputs", `{"door":true}`, with(good(), "Content-Type", "application/json; charset=utf-8")); code != 200 || !th.inputs().Door {
		t.Errorf("POST /inputs with a charset: %d %q, door %v", code, body, th.inputs().Door)
	}
	if code, body := th.do("POST", "/shutdown", "", good()); code != 202 || th.shutdown.Load() != 1 {
		t.Errorf("POST /shutdown: %d %q, %d shutdowns", code, body, th.shutdown.Load())
	}
}

func TestCheckPatchKeys(t *testing.T) {
	for _, tc := range []struct {
		body string
		err  string
	}{
		{`{"door":true}`, ""},
		{`{"door":true,"enable":false,"setpoint_c":1,"fault":"none"}`, ""},
		{`{"door":true,"door":true}`, "duplicate field"},
		{`{"door":true,"Door":true}`, "unknown field"},
		{`{"setpoint_c":1,"fault":"none","setpoint_c":2}`, "duplicate field"},
		{`[{"door":true}]`, "not a JSON object"},
		{`{"door":{"x":1,"x":2}}`, ""}, // the decoder refuses the type
		{`{"door":true`, "EOF"},
	} {
		err := checkPatchKeys([]byte(tc.body))
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.body, err, tc.err)
		}
	}
}

func TestLoadToken(t *testing.T) {
	a, err := loadToken("")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := loadToken("")
	if len(a) != 64 || a == b {
		t.Errorf("generated tokens %q, %q: want 64 hex digits, different each time", a, b)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "token")
	os.WriteFile(f, []byte(testToken+"\n"), 0o600)
	if tok, err := loadToken(f); err != nil || tok != testToken {
		t.Errorf("token file: %q, %v", tok, err)
	}
	os.WriteFile(f, []byte("short\n"), 0o600)
	if _, err := loadToken(f); err == nil {
		t.Error("a 5-character token was accepted")
	}
	if _, err := loadToken(filepath.Join(dir, "none")); err == nil {
		t.Error("a missing token file was accepted")
	}
}

func TestExposureWarning(t *testing.T) {
	for _, tc := range []struct {
		addr string
		warn bool
	}{
		{"127.0.0.1:8080", false},
		{"[::1]:8080", false},
		{"0.0.0.0:8080", true},
		{"[::]:8080", true},
		{"192.0.2.7:8080", true},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if w := exposureWarning(a); (w != "") != tc.warn || tc.warn && !strings.Contains(w, "WARNING") {
			t.Errorf("%s: warning %q, want one: %v", tc.addr, w, tc.warn)
		}
	}
}

// TestParseFlagsNumbers: every numeric flag is checked, NaN and ±Inf
// included.
func TestParseFlagsNumbers(t *testing.T) {
	for _, args := range [][]string{
		{"-setpoint", "NaN", "-enable"},
		{"-setpoint", "nan"},
		{"-setpoint", "+Inf"},
		{"-setpoint", "-Inf"},
		{"-setpoint", "151"},
		{"-setpoint", "-0.5"},
		{"-period", "0s"},
		{"-period", "-1ms"},
		{"-prio", "0"},
		{"-prio", "100"},
		{"-cpu", "-2"},
		{"-stall", "0s"},
		{"-max-misses", "-1"},
		{"-duration", "-1s"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	c, err := parseFlags([]string{"-setpoint", "60", "-enable"})
	if err != nil || c.setpointC != 60 || !c.enable {
		t.Errorf("valid flags: %+v, %v", c, err)
	}
}

func TestRefusalLog(t *testing.T) {
	var buf strings.Builder
	l := newLogger(&buf)
	var rl refusalLog
	t0 := time.Now()
	for i := range 100 {
		rl.log(l, t0.Add(time.Duration(i)*time.Millisecond), "x")
	}
	rl.log(l, t0.Add(1500*time.Millisecond), "y")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "plc: refused x") || !strings.HasSuffix(lines[1], "plc: refused y (and 99 more refused since the last such line)") {
		t.Errorf("log:\n%s\nwant 2 lines, the second counting 99 left out", buf.String())
	}
}

func TestGuardHostWithoutPort(t *testing.T) {
	o := hmiOptions{addr: "127.0.0.1:80", bindHost: "127.0.0.1:80"}
	hosts := allowedHosts(o)
	for host, want := range map[string]int{"127.0.0.1": 0, "localhost": 0, "[::1]": 0, "127.0.0.1:80": 0, "evil.example": 403, "127.0.0.1:8080": 403} {
		r, _ := http.NewRequest("GET", "http://x/image", nil)
		r.Host = host
		if code, why := guard(r, o, hosts); code != want {
			t.Errorf("Host %q: %d %s, want %d", host, code, why, want)
		}
	}
}
