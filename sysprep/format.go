package sysprep

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON (schema rtcell.sysprep/v1).
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing json report: %w", err)
	}
	return nil
}

var statusColour = map[Status]string{Pass: "\x1b[32m", Warn: "\x1b[33m", Fail: "\x1b[31m", Skip: "\x1b[2m"}

// WriteTable writes the human table: one row per check (status, id,
// observed), and under each warn or fail row what was expected and the
// remedy. colour adds ANSI colours to the status; use it on a TTY only.
func (r Report) WriteTable(w io.Writer, colour bool) error {
	h := r.Host
	var b strings.Builder
	fmt.Fprintf(&b, "sysprep on %s: Linux %s %s (%s), CPUs %s, RT CPUs %s\n",
		orNone(h.Hostname), h.KernelRelease, h.KernelVersion, orNone(h.Machine), h.CPUs, h.RTCPUs)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tOBSERVED")
	for _, c := range r.Checks {
		st := strings.ToUpper(string(c.Status))
		if colour {
			st = statusColour[c.Status] + st + "\x1b[0m"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", st, c.ID, c.Observed)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	for _, c := range r.Checks {
		if c.Status != Warn && c.Status != Fail {
			continue
		}
		fmt.Fprintf(&b, "\n%s %s: %s\n  expected: %s\n", strings.ToUpper(string(c.Status)), c.ID, c.Title, c.Expected)
		if c.Remedy != "" {
			b.WriteString("  remedy:\n")
			for _, l := range strings.Split(c.Remedy, "\n") {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
	}
	s := r.Summary
	fmt.Fprintf(&b, "\n%d pass, %d warn, %d fail, %d skip\n", s.Pass, s.Warn, s.Fail, s.Skip)
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	return nil
}

// WriteMarkdown writes a commissioning checklist a technician can print
// and sign: host identity and date, one checkbox per check (ticked when it
// passed), the remedies, and a sign-off block.
func (r Report) WriteMarkdown(w io.Writer) error {
	h := r.Host
	var b strings.Builder
	b.WriteString("# Real-time commissioning checklist\n\n")
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, mdCell(orNone(v))) }
	row("Host", h.Hostname)
	row("Kernel", h.KernelRelease+" "+h.KernelVersion)
	row("Machine", h.Machine)
	row("CPUs", h.CPUs)
	row("RT CPUs", h.RTCPUs)
	date := ""
	if !r.Time.IsZero() {
		date = r.Time.UTC().Format("2006-01-02 15:04 UTC")
	}
	row("Date", date)
	row("Tool", "rtcell sysprep, "+r.Schema)
	s := r.Summary
	fmt.Fprintf(&b, "\n**Result: %d pass, %d warn, %d fail, %d skip.**\n", s.Pass, s.Warn, s.Fail, s.Skip)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n> Note: %s\n", n)
	}
	b.WriteString("\nA box is ticked when the check passed. Fix each unticked item with its remedy, rerun `sysprep --format markdown`, and attach the new sheet.\n\n## Checks\n\n")
	for _, c := range r.Checks {
		box := " "
		if c.Status == Pass {
			box = "x"
		}
		fmt.Fprintf(&b, "- [%s] **%s** `%s` — %s\n", box, strings.ToUpper(string(c.Status)), c.ID, c.Title)
		fmt.Fprintf(&b, "  - Observed: %s\n", mdText(c.Observed))
		if c.Expected != "" {
			fmt.Fprintf(&b, "  - Expected: %s\n", mdText(c.Expected))
		}
		if c.Remedy != "" {
			b.WriteString("  - Remedy:\n\n    ```sh\n")
			for _, l := range strings.Split(c.Remedy, "\n") {
				fmt.Fprintf(&b, "    %s\n", l)
			}
			b.WriteString("    ```\n\n")
		}
	}
	b.WriteString("\n## Sign-off\n\n")
	b.WriteString("| Role | Name | Signature | Date |\n|---|---|---|---|\n")
	b.WriteString("| Technician | | | |\n| Reviewer | | | |\n")
	b.WriteString("\nRemarks:\n\n\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing markdown: %w", err)
	}
	return nil
}

func mdCell(s string) string { return strings.ReplaceAll(mdText(s), "|", `\|`) }

// mdText escapes text for GitHub-flavoured markdown: each character that
// could start markup (emphasis, links, code spans, HTML tags and
// entities, strikethrough) gets a backslash, which CommonMark renders as
// the literal character. An underscore inside a word (sched_rt_runtime_us)
// cannot start emphasis and stays as it is, so the sheet stays readable
// as plain text. Control characters are escaped before (escape).
func mdText(s string) string {
	s = escape(s, false)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '`', '*', '[', ']', '<', '>', '&', '~':
			b.WriteByte('\\')
		case '_':
			if i == 0 || i == len(s)-1 || !isWordByte(s[i-1]) || !isWordByte(s[i+1]) {
				b.WriteByte('\\')
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
