package affinity

import (
	"slices"
	"testing"
)

func TestParseList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []int
	}{
		{"0", []int{0}},
		{"0-3", []int{0, 1, 2, 3}},
		{"3,1,1-2", []int{1, 2, 3}},
		{" 0-1 , 6 ", []int{0, 1, 6}},
	} {
		got, err := ParseList(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseList(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if back, _ := ParseList(Format(got)); !slices.Equal(back, got) {
			t.Errorf("Format(%v) = %q does not parse back", got, Format(got))
		}
	}
	for _, bad := range []string{"", "a", "1-", "-1", "3-1", "1,,2", "99999"} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) accepted", bad)
		}
	}
	if f := Format([]int{0, 1, 2, 5, 7, 8}); f != "0-2,5,7-8" {
		t.Errorf("Format = %q", f)
	}
}

// TestParseOrdered keeps the written order, which Format writes back.
func TestParseOrdered(t *testing.T) {
	got, err := ParseOrdered("0-2,8,4,1,6-7")
	if want := []int{0, 1, 2, 8, 4, 6, 7}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseOrdered = %v, %v; want %v", got, err, want)
	}
	if f := Format(got); f != "0-2,8,4,6-7" {
		t.Errorf("Format(%v) = %q", got, f)
	}
	if _, err := ParseOrdered("1,x"); err == nil {
		t.Error(`ParseOrdered("1,x") accepted`)
	}
}

func TestCheck(t *testing.T) {
	if err := Check([]int{0, 1}, []int{0, 1, 2}); err != nil {
		t.Error(err)
	}
	if err := Check([]int{5}, []int{0, 1}); err == nil {
		t.Error("Check accepted a CPU outside the allowed set")
	}
}
