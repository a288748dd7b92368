package classify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Example is one labelled text, or its tokens when the caller analysed it
// (RequestTokens).
type Example struct {
	Text       string
	Tokens     []Token
	Competence string
}

// TrainOptions tune training; zero values take the defaults.
type TrainOptions struct {
	Folds      int     // cross-validation folds for calibration; default 5
	Lambda     float64 // L2 regularization; default 1e-4
	Iterations int     // gradient steps; default 300
	MinDF      int     // a term must occur in this many examples; default 2
	Now        func() time.Time
}

func (o *TrainOptions) defaults() {
	if o.Folds < 2 {
		o.Folds = 5
	}
	if o.Lambda <= 0 {
		o.Lambda = 1e-4
	}
	if o.Iterations <= 0 {
		o.Iterations = 300
	}
	if o.MinDF <= 0 {
		o.MinDF = 2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// doc is an analysed example.
type doc struct {
	terms []term
	rules []RuleHit
	class int
}

// Train learns a model from examples. The rules' weight against the model
// and the temperature that calibrates the probabilities are chosen by
// cross-validation (held-out folds), then the model is trained on all the
// examples. Training is deterministic: the same examples give the same model.
func Train(examples []Example, rules *Rules, o TrainOptions) (*Model, error) {
	o.defaults()
	if len(examples) < 2*o.Folds {
		return nil, fmt.Errorf("classify: %d exemples, trop peu pour apprendre", len(examples))
	}
	classSet := map[string]int{}
	for _, e := range examples {
		classSet[e.Competence]++
	}
	if len(classSet) < 2 {
		return nil, errors.New("classify: il faut au moins deux compétences")
	}
	classes := make([]string, 0, len(classSet))
	for c := range classSet {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	ci := map[string]int{}
	for i, c := range classes {
		ci[c] = i
	}
	docs := make([]doc, len(examples))
	h := sha256.New()
	for i, e := range examples {
		toks := e.Tokens
		if toks == nil {
			toks = Analyze(e.Text)
		}
		docs[i] = doc{terms: terms(toks), rules: rules.Match(toks), class: ci[e.Competence]}
		fmt.Fprintf(h, "%s\x00", e.Competence)
		for _, t := range toks {
			fmt.Fprintf(h, "%s ", t.Word)
		}
	}

	// Cross-validation: every example is scored by a model that did not
	// see it; those held-out scores choose the rules' weight and the
	// temperature.
	held := make([][]float64, len(docs))
	heldRules := make([][]float64, len(docs))
	for f := range o.Folds {
		var train []int
		for i := range docs {
			if i%o.Folds != f {
				train = append(train, i)
			}
		}
		m := fit(docs, train, classes, o)
		for i := range docs {
			if i%o.Folds == f {
				vec, _ := vector(docs[i].terms, m.index, m.IDF)
				held[i] = m.scores(vec, make([]float64, len(classes)))
				heldRules[i] = ruleScores(docs[i].rules, ci, len(classes))
			}
		}
	}
	scale, temp, cv := calibrate(docs, held, heldRules, rules.Len() > 0)
	cv.Folds = o.Folds

	all := make([]int, len(docs))
	for i := range all {
		all[i] = i
	}
	m := fit(docs, all, classes, o)
	m.RuleScale, m.Temperature, m.CV = scale, temp, &cv
	m.TrainedAt = o.Now().UTC().Truncate(time.Second)
	m.Corpus = CorpusInfo{Examples: len(examples), SHA256: hex.EncodeToString(h.Sum(nil)), PerClass: classSet}
	m.Version = m.hash()
	return m, nil
}

// hash names a model by what it learned (not when).
func (m *Model) hash() string {
	b, _ := json.Marshal(struct {
		C []string
		F []string
		W [][]float32
		B []float32
		S float64
		T float64
	}{m.Classes, m.Features, m.Weights, m.Bias, m.RuleScale, m.Temperature})
	sum := sha256.Sum256(b)
	return "clf-" + hex.EncodeToString(sum[:6])
}

// fit trains a softmax regression on docs[idx] by full-batch gradient
// descent with Adam, from zero weights.
func fit(docs []doc, idx []int, classes []string, o TrainOptions) *Model {
	df := map[string]int{}
	for _, i := range idx {
		for _, t := range docs[i].terms {
			df[t.key]++
		}
	}
	var feats []string
	for k, n := range df {
		if n >= o.MinDF {
			feats = append(feats, k)
		}
	}
	sort.Strings(feats)
	m := &Model{Format: modelFormat, Classes: classes, Features: feats, IDF: make([]float32, len(feats)), Temperature: 1}
	n := float64(len(idx))
	for j, f := range feats {
		m.IDF[j] = float32(math.Log((1+n)/(1+float64(df[f]))) + 1)
	}
	m.prepare()
	C, F := len(classes), len(feats)
	xs := make([][]entry, len(idx))
	for k, i := range idx {
		xs[k], _ = vector(docs[i].terms, m.index, m.IDF)
	}
	W := make([][]float64, C)
	gW, mW, vW := make([][]float64, C), make([][]float64, C), make([][]float64, C)
	for c := range C {
		W[c], gW[c], mW[c], vW[c] = make([]float64, F), make([]float64, F), make([]float64, F), make([]float64, F)
	}
	b, gb, mb, vb := make([]float64, C), make([]float64, C), make([]float64, C), make([]float64, C)
	const lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
	z := make([]float64, C)
	for it := 1; it <= o.Iterations; it++ {
		for c := range C {
			clear(gW[c])
			gb[c] = 0
		}
		for k, x := range xs {
			for c := range C {
				s := b[c]
				for _, e := range x {
					s += e.v * W[c][e.i]
				}
				z[c] = s
			}
			p := softmax(z, 1)
			p[docs[idx[k]].class]--
			for c := range C {
				g := p[c] / n
				gb[c] += g
				for _, e := range x {
					gW[c][e.i] += g * e.v
				}
			}
		}
		c1, c2 := 1-math.Pow(beta1, float64(it)), 1-math.Pow(beta2, float64(it))
		for c := range C {
			for j := range F {
				g := gW[c][j] + o.Lambda*W[c][j]
				mW[c][j] = beta1*mW[c][j] + (1-beta1)*g
				vW[c][j] = beta2*vW[c][j] + (1-beta2)*g*g
				W[c][j] -= lr * (mW[c][j] / c1) / (math.Sqrt(vW[c][j]/c2) + eps)
			}
			mb[c] = beta1*mb[c] + (1-beta1)*gb[c]
			vb[c] = beta2*vb[c] + (1-beta2)*gb[c]*gb[c]
			b[c] -= lr * (mb[c] / c1) / (math.Sqrt(vb[c]/c2) + eps)
		}
	}
	m.Weights = make([][]float32, C)
	m.Bias = make([]float32, C)
	for c := range C {
		m.Weights[c] = make([]float32, F)
		for j := range F {
			m.Weights[c][j] = float32(math.Round(W[c][j]*1e4) / 1e4)
		}
		m.Bias[c] = float32(math.Round(b[c]*1e4) / 1e4)
	}
	return m
}

// calibrate picks the rules' weight (best held-out accuracy, then log loss)
// and the temperature (best held-out log loss).
func calibrate(docs []doc, held, rules [][]float64, withRules bool) (scale, temp float64, cv CVReport) {
	eval := func(s, t float64) (acc, loss float64) {
		z := make([]float64, len(held[0]))
		for i, d := range docs {
			for c := range z {
				z[c] = held[i][c] + s*rules[i][c]
			}
			p := softmax(z, t)
			best := 0
			for c := range p {
				if p[c] > p[best] {
					best = c
				}
			}
			if best == d.class {
				acc++
			}
			loss -= math.Log(math.Max(p[d.class], 1e-12))
		}
		n := float64(len(docs))
		return acc / n, loss / n
	}
	cv.ModelAccuracy, _ = eval(0, 1)
	scales := []float64{0}
	if withRules {
		scales = []float64{0, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2}
	}
	bestAcc, bestLoss := -1.0, math.Inf(1)
	for _, s := range scales {
		acc, loss := eval(s, 1)
		if acc > bestAcc+1e-9 || (math.Abs(acc-bestAcc) <= 1e-9 && loss < bestLoss) {
			scale, bestAcc, bestLoss = s, acc, loss
		}
	}
	temp, bestLoss = 1, math.Inf(1)
	for t := 0.2; t <= 3.0001; t += 0.05 {
		if _, loss := eval(scale, t); loss < bestLoss {
			temp, bestLoss = t, loss
		}
	}
	temp = math.Round(temp*100) / 100
	cv.Accuracy, cv.LogLoss = eval(scale, temp)
	return scale, temp, cv
}
