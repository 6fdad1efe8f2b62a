package vmtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// emit renders a section the way vm_emit does, with base64 wrapped at 76.
func emit(name string, rc int, data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	fmt.Fprintf(&b, "=====BEGIN %s=====\n", name)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc + "\n")
	}
	fmt.Fprintf(&b, "=====END %s rc=%d=====\n", name, rc)
	return b.String()
}

func TestParseTranscript(t *testing.T) {
	long := strings.Repeat("0123456789", 30)
	cases := []struct {
		name     string
		in       string
		want     []Section
		done     bool
		problems int
	}{
		{
			name: "clean",
			in:   "boot noise\n" + emit("a", 0, []byte("hello\n")) + emit("b", 3, []byte(long)) + "=====VMTEST DONE rc=0=====\n",
			want: []Section{{"a", []byte("hello\n"), 0}, {"b", []byte(long), 3}},
			done: true,
		},
		{
			name: "crlf from the tty",
			in:   strings.ReplaceAll(emit("a", 1, []byte("x")), "\n", "\r\n") + "=====VMTEST DONE rc=2=====\r\n",
			want: []Section{{"a", []byte("x"), 1}},
			done: true,
		},
		{
			name: "kernel message inside a section",
			in:   "=====BEGIN a=====\n" + b64("payload") + "\n[   12.345] rcu: INFO: stall\n=====END a rc=0=====\n",
			want: []Section{{"a", []byte("payload"), 0}},
		},
		{
			name: "marker after noise on the same line",
			in:   "[ 1.0] msg=====BEGIN a=====\n" + b64("z") + "\nnoise=====END a rc=0=====\n",
			want: []Section{{"a", []byte("z"), 0}},
		},
		{
			name: "empty section",
			in:   "=====BEGIN e=====\n=====END e rc=0=====\n",
			want: []Section{{"e", []byte{}, 0}},
		},
		{
			name:     "no end marker",
			in:       "=====BEGIN a=====\n" + b64("x") + "\n",
			problems: 1,
		},
		{
			name:     "begin inside a section",
			in:       "=====BEGIN a=====\n=====BEGIN b=====\n" + b64("y") + "\n=====END b rc=0=====\n",
			want:     []Section{{"b", []byte("y"), 0}},
			problems: 1,
		},
		{
			name:     "mismatched end",
			in:       "=====BEGIN a=====\n" + b64("y") + "\n=====END b rc=0=====\n",
			problems: 1,
		},
		{
			name:     "bad base64",
			in:       "=====BEGIN a=====\nQQ=\n=====END a rc=0=====\n",
			problems: 1,
		},
		{
			name:     "bad rc",
			in:       "=====BEGIN a=====\n=====END a rc=x=====\n",
			problems: 2, // malformed end, then a section with no end
		},
		{
			name:     "bad name",
			in:       "=====BEGIN a b=====\n=====END a b rc=0=====\n",
			problems: 2,
		},
		{
			name:     "bad done",
			in:       "=====VMTEST DONE rc=?=====\n",
			problems: 1,
		},
		{
			name: "done with failure",
			in:   "=====VMTEST DONE rc=7=====\n",
			done: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := parseTranscript(strings.NewReader(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Sections) != len(c.want) || (len(c.want) > 0 && !reflect.DeepEqual(tr.Sections, c.want)) {
				t.Errorf("sections = %+v, want %+v", tr.Sections, c.want)
			}
			if tr.Done != c.done {
				t.Errorf("done = %v, want %v", tr.Done, c.done)
			}
			if len(tr.Problems) != c.problems {
				t.Errorf("problems = %q, want %d", tr.Problems, c.problems)
			}
		})
	}
}

func TestParseTranscriptDoneRC(t *testing.T) {
	tr, err := parseTranscript(strings.NewReader("=====VMTEST DONE rc=7=====\n"))
	if err != nil || !tr.Done || tr.DoneRC != 7 {
		t.Fatalf("got done=%v rc=%d err=%v, want done rc=7", tr.Done, tr.DoneRC, err)
	}
}

// TestGuestHelpers runs the shell helpers the guest gets with the
// host's sh and base64, and parses what they print.
func TestGuestHelpers(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs sh")
	}
	if _, err := exec.LookPath("base64"); err != nil {
		t.Skip("needs base64 (coreutils)")
	}
	dir := t.TempDir()
	file := dir + "/in.bin"
	binary := []byte{0, 1, 2, 0xff, '\n', '=', '=', '=', '=', '=', '\r'}
	if err := os.WriteFile(file, binary, 0o644); err != nil {
		t.Fatal(err)
	}
	script := strings.ReplaceAll(guestHelpers, "/tmp/.vm.", dir+"/.vm.") + `
vm_run ok sh -c 'echo out; echo err >&2; exit 4'
vm_file bin ` + file + `
vm_file missing ` + dir + `/nope
vm_text txt "a b c"
`
	out, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatalf("helpers: %v", err)
	}
	tr, err := parseTranscript(bytes.NewReader(out))
	if err != nil || len(tr.Problems) > 0 {
		t.Fatalf("parse: %v %v\n%s", err, tr.Problems, out)
	}
	got := map[string]Section{}
	for _, s := range tr.Sections {
		got[s.Name] = s
	}
	check := func(name string, rc int, data []byte) {
		t.Helper()
		s, ok := got[name]
		if !ok || s.RC != rc || !bytes.Equal(s.Data, data) {
			t.Errorf("section %s = %+v (found %v), want rc %d data %q", name, s, ok, rc, data)
		}
	}
	check("ok", 4, []byte("out\n"))
	check("ok.stderr", 4, []byte("err\n"))
	check("bin", 0, binary)
	check("txt", 0, []byte("a b c"))
	if s := got["missing"]; s.RC != 1 || !bytes.Contains(s.Data, []byte("nope")) {
		t.Errorf("missing file section = %+v, want rc 1 and the error", s)
	}
}

func FuzzParseTranscript(f *testing.F) {
	f.Add("x\n" + emit("a", 0, []byte("hi")) + "=====VMTEST DONE rc=0=====\n")
	f.Add("=====BEGIN a=====\n=====END a rc=1=====\n")
	f.Add("=====END  rc======")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := parseTranscript(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, s := range tr.Sections {
			if !sectionNameRE.MatchString(s.Name) || s.RC < 0 {
				t.Fatalf("accepted bad section %+v", s)
			}
		}
		// Whatever comes before, a well-formed section after a newline
		// is read back intact.
		tr2, err := parseTranscript(strings.NewReader(in + "\n" + emit("tail", 5, []byte(in))))
		if err != nil {
			t.Fatal(err)
		}
		last := tr2.Sections[len(tr2.Sections)-1]
		if last.Name != "tail" || last.RC != 5 || string(last.Data) != in {
			t.Fatalf("tail section = %+v", last)
		}
	})
}
