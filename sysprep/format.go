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
// observed), under each warn or fail row what was expected and the
// remedy, and at the end the one proposed kernel command line. colour
// adds ANSI colours to the status; use it on a TTY only.
func (r Report) WriteTable(w io.Writer, colour bool) error {
	h := r.Host
	var b strings.Builder
	fmt.Fprintf(&b, "sysprep %s on %s: Linux %s %s (%s), CPUs %s, RT CPUs %s, planned SCHED_FIFO %d\n",
		r.Version, orNone(h.Hostname), h.KernelRelease, h.KernelVersion, orNone(h.Machine), h.CPUs, h.RTCPUs, r.Priority)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", escape(n, false))
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tOBSERVED")
	for _, c := range r.Checks {
		st := strings.ToUpper(string(c.Status))
		if colour {
			st = statusColour[c.Status] + st + "\x1b[0m"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", st, c.ID, escape(c.Observed, false))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	for _, c := range r.Checks {
		if c.Status != Warn && c.Status != Fail {
			continue
		}
		fmt.Fprintf(&b, "\n%s %s: %s\n  expected: %s\n", strings.ToUpper(string(c.Status)), c.ID, c.Title, escape(c.Expected, false))
		if c.Remedy != "" {
			b.WriteString("  remedy:\n")
			for _, l := range strings.Split(escape(c.Remedy, true), "\n") {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
	}
	if k := r.KernelCmdline; k != nil {
		b.WriteString("\nKernel command line (every parameter the checks above want, merged into /proc/cmdline):\n")
		for _, l := range k.lines() {
			fmt.Fprintf(&b, "  %s\n", escape(l, false))
		}
		if k.Install != "" {
			b.WriteString("  install:\n")
			for _, l := range strings.Split(escape(k.Install, true), "\n") {
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

// longObserved is the length above which the markdown sheet splits an
// observation into a sub-list at its "; " separators.
const longObserved = 160

// WriteMarkdown writes a commissioning checklist a technician can print
// and sign: host identity, kernel command line, RT CPUs, planned
// priority, date, tool version and the command that reproduces the
// sheet; one checkbox per applicable check (ticked when it passed) with
// its remedy; the skipped checks apart with their reason; the proposed
// kernel command line; and a sign-off block. Every list is tight in
// GitHub-flavoured markdown (no blank line inside), and text from the box
// is escaped (mdText).
func (r Report) WriteMarkdown(w io.Writer) error {
	h := r.Host
	var b strings.Builder
	b.WriteString("# Real-time commissioning checklist\n\n")
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, mdCell(orNone(v))) }
	row("Host", h.Hostname)
	row("Kernel", h.KernelRelease+" "+h.KernelVersion)
	if r.KernelCmdline != nil {
		row("Kernel command line", r.KernelCmdline.Current)
	}
	row("Machine", h.Machine)
	if h.CPUModel != "" {
		row("CPU model", h.CPUModel)
	}
	if h.Vendor != "" || h.Product != "" {
		row("Board", strings.TrimSpace(h.Vendor+" "+h.Product))
	}
	if h.BIOSVersion != "" || h.BIOSDate != "" {
		row("BIOS", strings.TrimSpace(h.BIOSVersion+" "+h.BIOSDate))
	}
	row("CPUs", h.CPUs)
	row("RT CPUs", h.RTCPUs)
	row("Planned priority", fmt.Sprintf("SCHED_FIFO %d", r.Priority))
	date := ""
	if !r.Time.IsZero() {
		date = r.Time.UTC().Format("2006-01-02 15:04 UTC")
	}
	row("Date", date)
	row("Tool", "rtcell sysprep "+r.Version+", "+r.Schema)
	if r.Command != "" {
		row("Command", r.Command)
	}
	s := r.Summary
	fmt.Fprintf(&b, "\n**Result: %d pass, %d warn, %d fail, %d skip.**\n", s.Pass, s.Warn, s.Fail, s.Skip)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n> Note: %s\n", mdText(n))
	}
	rerun := "the command above"
	if r.Command == "" {
		rerun = "`sysprep --format markdown` with the same flags"
	}
	fmt.Fprintf(&b, "\nA box is ticked when the check passed. Fix each unticked item with its remedy, then the kernel command line at the end; rerun %s and attach the new sheet.\n\n## Checks\n\n", rerun)
	var skipped []Result
	for _, c := range r.Checks {
		if c.Status == Skip {
			skipped = append(skipped, c)
			continue
		}
		box := " "
		if c.Status == Pass {
			box = "x"
		}
		fmt.Fprintf(&b, "- [%s] **%s** `%s` — %s\n", box, strings.ToUpper(string(c.Status)), c.ID, mdText(c.Title))
		writeObserved(&b, c.Observed)
		if c.Expected != "" {
			fmt.Fprintf(&b, "  - Expected: %s\n", mdText(c.Expected))
		}
		if c.Remedy != "" {
			b.WriteString("  - Remedy:\n")
			writeCode(&b, "    ", c.Remedy)
		}
	}
	if len(skipped) > 0 {
		b.WriteString("\n## Not applicable here\n\nThese checks were skipped; the reason says why. They need no fix.\n\n")
		for _, c := range skipped {
			fmt.Fprintf(&b, "- `%s` — %s: %s\n", c.ID, mdText(c.Title), mdText(c.Observed))
		}
	}
	if k := r.KernelCmdline; k != nil {
		b.WriteString("\n## Kernel command line\n\n")
		if !k.Changed() {
			b.WriteString("No change: every kernel parameter the checks want is on the running command line.\n")
		} else {
			fmt.Fprintf(&b, "- Current: %s\n- Proposed: %s\n", mdText(k.Current), mdText(k.Proposed))
			if len(k.Add) > 0 {
				fmt.Fprintf(&b, "- Add: %s\n", mdText(strings.Join(k.Add, " ")))
			}
			if len(k.Remove) > 0 {
				fmt.Fprintf(&b, "- Remove: %s\n", mdText(strings.Join(k.Remove, " ")))
			}
			fmt.Fprintf(&b, "- Boot loader: %s\n- Install:\n", k.Bootloader)
			writeCode(&b, "  ", k.Install)
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

// writeObserved writes an observation as one list item, or, when long,
// as a sub-list split at its "; " separators.
func writeObserved(b *strings.Builder, obs string) {
	parts := strings.Split(obs, "; ")
	if len(obs) <= longObserved || len(parts) == 1 {
		fmt.Fprintf(b, "  - Observed: %s\n", mdText(obs))
		return
	}
	b.WriteString("  - Observed:\n")
	for _, p := range parts {
		fmt.Fprintf(b, "    - %s\n", mdText(p))
	}
}

// writeCode writes a fenced sh block at indent, with a fence longer than
// any run of backticks in the code, so no content can close it.
func writeCode(b *strings.Builder, indent, code string) {
	code = escape(code, true)
	fence := "```"
	for strings.Contains(code, fence) {
		fence += "`"
	}
	fmt.Fprintf(b, "%s%ssh\n", indent, fence)
	for _, l := range strings.Split(code, "\n") {
		fmt.Fprintf(b, "%s%s\n", indent, l)
	}
	fmt.Fprintf(b, "%s%s\n", indent, fence)
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
