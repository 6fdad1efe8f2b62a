package vmtest

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// The guest reports over its serial console. Each result is a section:
//
//	=====BEGIN name=====
//	base64 lines (busybox base64, so that any bytes survive the tty)
//	=====END name rc=N=====
//
// The script's end is marked with "=====VMTEST DONE rc=N=====". Lines
// outside sections are boot noise and are ignored; inside a section, a
// line that is not base64 (a stray kernel message) is skipped, so that
// one message does not lose a result.
const (
	markerPrefix = "====="
	beginMarker  = "=====BEGIN "
	endMarker    = "=====END "
	doneMarker   = "=====VMTEST DONE rc="
	markerSuffix = "====="
)

var (
	sectionNameRE = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,128}$`)
	base64LineRE  = regexp.MustCompile(`^[A-Za-z0-9+/]*={0,2}$`)
)

// Section is one result the guest printed between markers.
type Section struct {
	Name string
	// Data is the decoded payload: a command's stdout or stderr, or a
	// file's content.
	Data []byte
	// RC is the exit status the guest recorded with the section: the
	// command's, or 0/1 for a file that could (not) be read.
	RC int
}

// transcript is what parseTranscript found on the console.
type transcript struct {
	Sections []Section
	// Done is true when the end-of-script marker was seen; DoneRC is the
	// script's exit status.
	Done   bool
	DoneRC int
	// Problems lists sections that were cut off or did not decode.
	Problems []string
}

// parseTranscript reads a serial console transcript. It never fails on
// noise; broken sections are reported in Problems and left out.
func parseTranscript(r io.Reader) (transcript, error) {
	var t transcript
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	var (
		open    string // name of the open section, "" if none
		payload strings.Builder
	)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r\n\t ")
		// A marker may follow noise on the same line (a kernel message
		// without a newline); look for it anywhere.
		if i := strings.Index(line, markerPrefix); i > 0 {
			line = line[i:]
		}
		switch {
		case strings.HasPrefix(line, beginMarker) && strings.HasSuffix(line, markerSuffix) && len(line) > len(beginMarker)+len(markerSuffix):
			name := line[len(beginMarker) : len(line)-len(markerSuffix)]
			if !sectionNameRE.MatchString(name) {
				t.Problems = append(t.Problems, fmt.Sprintf("section name %q is not valid", name))
				continue
			}
			if open != "" {
				t.Problems = append(t.Problems, fmt.Sprintf("section %q has no end marker (next section %q began)", open, name))
			}
			open = name
			payload.Reset()
		case strings.HasPrefix(line, endMarker) && strings.HasSuffix(line, markerSuffix) && len(line) >= len(endMarker)+len(markerSuffix):
			name, rc, ok := parseEnd(line)
			if !ok {
				t.Problems = append(t.Problems, fmt.Sprintf("malformed end marker %q", line))
				continue
			}
			if open == "" || name != open {
				t.Problems = append(t.Problems, fmt.Sprintf("end marker for %q without its begin marker", name))
				open = ""
				continue
			}
			data, err := base64.StdEncoding.DecodeString(payload.String())
			if err != nil {
				t.Problems = append(t.Problems, fmt.Sprintf("section %q does not decode: %v", name, err))
			} else {
				t.Sections = append(t.Sections, Section{Name: name, Data: data, RC: rc})
			}
			open = ""
		case strings.HasPrefix(line, doneMarker) && strings.HasSuffix(line, markerSuffix) && len(line) >= len(doneMarker)+len(markerSuffix):
			rc, err := strconv.Atoi(line[len(doneMarker) : len(line)-len(markerSuffix)])
			if err != nil {
				t.Problems = append(t.Problems, fmt.Sprintf("malformed done marker %q", line))
				continue
			}
			t.Done, t.DoneRC = true, rc
		case open != "" && base64LineRE.MatchString(line):
			payload.WriteString(line)
		}
	}
	if open != "" {
		t.Problems = append(t.Problems, fmt.Sprintf("section %q has no end marker (console ended)", open))
	}
	if err := sc.Err(); err != nil {
		return t, fmt.Errorf("reading console transcript: %w", err)
	}
	return t, nil
}

// parseEnd parses "=====END name rc=N=====".
func parseEnd(line string) (name string, rc int, ok bool) {
	body := line[len(endMarker) : len(line)-len(markerSuffix)]
	name, rcField, found := strings.Cut(body, " rc=")
	if !found || !sectionNameRE.MatchString(name) {
		return "", 0, false
	}
	rc, err := strconv.Atoi(rcField)
	if err != nil || rc < 0 {
		return "", 0, false
	}
	return name, rc, true
}

// guestHelpers are shell functions every job script gets. They write to
// the console only through vm_emit, so sections are never interleaved.
//
//	vm_run NAME CMD [ARG...]  run CMD; ship stdout as NAME, stderr as
//	                          NAME.stderr, both with CMD's exit status
//	vm_file NAME PATH         ship a file (rc 1 and the error if unreadable)
//	vm_text NAME TEXT         ship a string
const guestHelpers = `
vm_emit() {
	echo "=====BEGIN $1====="
	base64 < "$3"
	echo "=====END $1 rc=$2====="
}
vm_run() {
	_vm_name=$1
	shift
	"$@" >/tmp/.vm.out 2>/tmp/.vm.err
	_vm_rc=$?
	vm_emit "$_vm_name" "$_vm_rc" /tmp/.vm.out
	vm_emit "$_vm_name.stderr" "$_vm_rc" /tmp/.vm.err
	rm -f /tmp/.vm.out /tmp/.vm.err
	return 0
}
vm_file() {
	if cat "$2" >/tmp/.vm.file 2>/tmp/.vm.err; then
		vm_emit "$1" 0 /tmp/.vm.file
	else
		vm_emit "$1" 1 /tmp/.vm.err
	fi
	rm -f /tmp/.vm.file /tmp/.vm.err
}
vm_text() {
	printf '%s' "$2" >/tmp/.vm.text
	vm_emit "$1" 0 /tmp/.vm.text
	rm -f /tmp/.vm.text
}
`
