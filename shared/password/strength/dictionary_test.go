package strength

import (
	"slices"
	"testing"

	"github.com/trustelem/zxcvbn/frequency"
)

func BenchmarkBuildIndex(b *testing.B) {
	names := make([]string, 0)
	for n := range frequency.FrequencyLists {
		names = append(names, n)
	}
	slices.Sort(names)
	lists := make([][]string, len(names))
	for i, n := range names {
		lists[i] = frequency.FrequencyLists[n]
	}
	for b.Loop() {
		newIndex(names, lists)
	}
}

func TestSortWords(t *testing.T) {
	words := []string{"b", "a", "", "ab", "a\x00", "aa", "é", "zz", "z", "ba", "abc", "ab"}
	for _, l := range frequency.FrequencyLists {
		words = append(words, l...)
	}
	got := sortWords(slices.Clone(words))
	want := slices.Clone(words)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatal("sortWords differs from slices.Sort")
	}
}
