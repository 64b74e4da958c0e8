package sources

import (
	"slices"
	"strings"
)

func sortByCreation(list []*Source) {
	slices.SortFunc(list, func(a, b *Source) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
