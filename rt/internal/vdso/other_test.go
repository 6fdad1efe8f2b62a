//go:build !linux

package vdso

import (
	"errors"
	"testing"
)

func liveImageForTest() ([]byte, error) { return nil, ErrNotSupported }

func TestFallbackReasonOther(t *testing.T) {
	if Fast() || !errors.Is(FallbackReason(), ErrNotSupported) {
		t.Fatalf("Fast() = %v, FallbackReason() = %v; want false and ErrNotSupported", Fast(), FallbackReason())
	}
}
