package classify

import (
	"math"
	"sort"
	"strings"
)

// term is one feature of a text with how often it occurs and the words it
// stands for.
type term struct {
	key   string // "w:stem" or "b:stem stem"
	count int
	words string // as written, for explanations
}

// terms lists a text's features: every stem, and every pair of stems that
// follow each other ("nid poul", "bac jaun"), which carry most of the
// meaning of short requests.
func terms(toks []Token) []term {
	idx := map[string]int{}
	var out []term
	add := func(key, words string) {
		if i, ok := idx[key]; ok {
			out[i].count++
			return
		}
		idx[key] = len(out)
		out = append(out, term{key: key, count: 1, words: words})
	}
	for i, t := range toks {
		add("w:"+t.Stem, t.Word)
		if i+1 < len(toks) {
			n := toks[i+1]
			add("b:"+t.Stem+" "+n.Stem, t.Word+" "+n.Word)
		}
	}
	return out
}

// entry is one non-zero feature of a vector.
type entry struct {
	i int
	v float64
}

// vector weighs the known terms of a text: (1 + log count) × idf, scaled to
// unit length so that long letters and short SMS weigh alike. words gives,
// per feature index, the text's words for it.
func vector(ts []term, index map[string]int, idf []float32) ([]entry, map[int]string) {
	var vec []entry
	words := map[int]string{}
	norm := 0.0
	for _, t := range ts {
		i, ok := index[t.key]
		if !ok {
			continue
		}
		v := (1 + math.Log(float64(t.count))) * float64(idf[i])
		vec = append(vec, entry{i: i, v: v})
		words[i] = t.words
		norm += v * v
	}
	if norm > 0 {
		norm = math.Sqrt(norm)
		for k := range vec {
			vec[k].v /= norm
		}
	}
	sort.Slice(vec, func(a, b int) bool { return vec[a].i < vec[b].i })
	return vec, words
}

// Similarity compares two texts by the stems they share, weighted by how
// rare each stem is in the model's corpus (cosine of the idf-weighted stem
// vectors), from 0 (nothing in common) to 1. Linking uses it to tell the
// same matter from another one of the same person.
func (m *Model) Similarity(a, b string) float64 {
	return SimilarityOf(m.Vector(a), m.Vector(b))
}

// TextVector is a text's weighted stems, analysed once to be compared with
// several others.
type TextVector struct{ v []entry }

// Vector analyses text for SimilarityOf.
func (m *Model) Vector(text string) TextVector { return m.VectorOf(Analyze(text)) }

// VectorOf is Vector of a text already analysed.
func (m *Model) VectorOf(toks []Token) TextVector {
	v, _ := vector(stemsOnly(terms(toks)), m.index, m.IDF)
	return TextVector{v}
}

// SimilarityOf is Similarity of two texts already analysed by the same model.
func SimilarityOf(a, b TextVector) float64 {
	s, j := 0.0, 0
	for _, x := range a.v {
		for j < len(b.v) && b.v[j].i < x.i {
			j++
		}
		if j < len(b.v) && b.v[j].i == x.i {
			s += x.v * b.v[j].v
		}
	}
	return s
}

func stemsOnly(ts []term) []term {
	out := ts[:0:0]
	for _, t := range ts {
		if strings.HasPrefix(t.key, "w:") {
			out = append(out, t)
		}
	}
	return out
}
