package classify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"
)

// MaxModelBytes bounds a model file.
const MaxModelBytes = 64 << 20

// Model is a trained classifier, as stored in its versioned file.
type Model struct {
	Format      string      `json:"format"`  // "guichet-classifier/1"
	Version     string      `json:"version"` // "clf-" + hash of what it learned
	TrainedAt   time.Time   `json:"trained_at"`
	Classes     []string    `json:"classes"`
	Features    []string    `json:"features"`
	IDF         []float32   `json:"idf"`
	Weights     [][]float32 `json:"weights"` // [class][feature]
	Bias        []float32   `json:"bias"`
	RuleScale   float64     `json:"rule_scale"`  // how much the rules weigh against the model
	Temperature float64     `json:"temperature"` // calibration of the combined scores
	Corpus      CorpusInfo  `json:"corpus"`
	CV          *CVReport   `json:"cross_validation,omitempty"`

	index      map[string]int
	classIndex map[string]int
}

// CorpusInfo says what a model was trained on.
type CorpusInfo struct {
	Examples int            `json:"examples"`
	SHA256   string         `json:"sha256"` // of the examples, in order
	PerClass map[string]int `json:"per_class"`
}

// CVReport is the cross-validation of a training run: held-out accuracy of
// the model alone and of model and rules together, calibrated.
type CVReport struct {
	Folds         int     `json:"folds"`
	ModelAccuracy float64 `json:"model_accuracy"`
	Accuracy      float64 `json:"accuracy"`
	LogLoss       float64 `json:"log_loss"`
}

const modelFormat = "guichet-classifier/1"

// ParseModel reads a model file's content and checks it is whole.
func ParseModel(data []byte) (*Model, error) {
	if len(data) > MaxModelBytes {
		return nil, fmt.Errorf("classify: modèle de plus de %d octets", MaxModelBytes)
	}
	var m Model
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("classify: modèle illisible : %w", err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	m.prepare()
	return &m, nil
}

// LoadModel reads a model file.
func LoadModel(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	m, err := ParseModel(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

func (m *Model) check() error {
	switch {
	case m.Format != modelFormat:
		return fmt.Errorf("classify: format de modèle %q inconnu (attendu %q)", m.Format, modelFormat)
	case len(m.Classes) < 2:
		return errors.New("classify: le modèle a moins de deux classes")
	case len(m.IDF) != len(m.Features) || len(m.Weights) != len(m.Classes) || len(m.Bias) != len(m.Classes):
		return errors.New("classify: modèle incohérent (tailles)")
	case m.Temperature <= 0:
		return errors.New("classify: température du modèle invalide")
	}
	for _, w := range m.Weights {
		if len(w) != len(m.Features) {
			return errors.New("classify: modèle incohérent (poids)")
		}
	}
	return nil
}

func (m *Model) prepare() {
	m.index = make(map[string]int, len(m.Features))
	for i, f := range m.Features {
		m.index[f] = i
	}
	m.classIndex = make(map[string]int, len(m.Classes))
	for i, c := range m.Classes {
		m.classIndex[c] = i
	}
}

// Save writes the model as indented JSON.
func (m *Model) Save(path string) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	return nil
}

// Scored is a competence with its probability.
type Scored struct {
	Competence  string  `json:"competence"`
	Probability float64 `json:"probability"`
}

// Contribution is a term that weighed for the chosen competence.
type Contribution struct {
	Words  string  `json:"words"`
	Weight float64 `json:"weight"`
}

// Prediction is the classifier's answer with its reasons.
type Prediction struct {
	Competence   string         `json:"competence"`
	Probability  float64        `json:"probability"`
	Ranked       []Scored       `json:"ranked"`   // every competence, most likely first
	Terms        []Contribution `json:"terms"`    // the words that weighed most for Competence
	Rules        []RuleHit      `json:"rules"`    // the catalogue phrases found
	Evidence     int            `json:"evidence"` // how many of the text's terms the model knows
	ModelVersion string         `json:"model_version"`
}

// Classifier is a model with the catalogue's rules.
type Classifier struct {
	model    *Model
	rules    *Rules
	analyzer *Analyzer
}

// New pairs a model with rules (nil: none).
func New(m *Model, r *Rules) *Classifier {
	return &Classifier{model: m, rules: r, analyzer: &Analyzer{}}
}

// Analyze is the package's Analyze, the words the classifier stemmed kept.
func (c *Classifier) Analyze(text string) []Token { return c.analyzer.Analyze(text) }

// Model returns the classifier's model.
func (c *Classifier) Model() *Model { return c.model }

// Classify predicts the competence of a text.
func (c *Classifier) Classify(text string) Prediction {
	return c.predict(c.Analyze(text))
}

func (c *Classifier) predict(toks []Token) Prediction {
	m := c.model
	vec, words := vector(terms(toks), m.index, m.IDF)
	hits := c.rules.Match(toks)
	z := m.scores(vec, ruleScores(hits, m.classIndex, len(m.Classes)))
	probs := softmax(z, m.Temperature)
	p := Prediction{ModelVersion: m.Version, Rules: hits, Evidence: len(vec)}
	for i, cl := range m.Classes {
		p.Ranked = append(p.Ranked, Scored{Competence: cl, Probability: probs[i]})
	}
	sort.SliceStable(p.Ranked, func(a, b int) bool { return p.Ranked[a].Probability > p.Ranked[b].Probability })
	p.Competence, p.Probability = p.Ranked[0].Competence, p.Ranked[0].Probability
	best := m.classIndex[p.Competence]
	for _, e := range vec {
		if w := e.v * float64(m.Weights[best][e.i]); w > 0 {
			p.Terms = append(p.Terms, Contribution{Words: words[e.i], Weight: round3(w)})
		}
	}
	sort.SliceStable(p.Terms, func(a, b int) bool { return p.Terms[a].Weight > p.Terms[b].Weight })
	if len(p.Terms) > 6 {
		p.Terms = p.Terms[:6]
	}
	return p
}

// scores are the combined, uncalibrated scores of each class.
func (m *Model) scores(vec []entry, rules []float64) []float64 {
	z := make([]float64, len(m.Classes))
	for c := range m.Classes {
		s := float64(m.Bias[c])
		w := m.Weights[c]
		for _, e := range vec {
			s += e.v * float64(w[e.i])
		}
		z[c] = s + m.RuleScale*rules[c]
	}
	return z
}

func softmax(z []float64, temp float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, v)
	}
	out := make([]float64, len(z))
	sum := 0.0
	for i, v := range z {
		out[i] = math.Exp((v - mx) / temp)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// Explain says a prediction in one French sentence, for the case history.
func (p Prediction) Explain() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s à %.0f %%", p.Competence, p.Probability*100)
	if len(p.Terms) > 0 {
		var ws []string
		for _, t := range p.Terms {
			ws = append(ws, "« "+t.Words+" »")
		}
		b.WriteString(" ; mots décisifs : " + strings.Join(ws, ", "))
	}
	var rs []string
	for _, h := range p.Rules {
		if h.Competence == p.Competence {
			rs = append(rs, fmt.Sprintf("« %s » (%+.1f)", h.Phrase, h.Weight))
		}
	}
	if len(rs) > 0 {
		b.WriteString(" ; règles du catalogue : " + strings.Join(rs, ", "))
	}
	if len(p.Ranked) > 1 {
		fmt.Fprintf(&b, " ; ensuite %s à %.0f %%", p.Ranked[1].Competence, p.Ranked[1].Probability*100)
	}
	return b.String()
}
