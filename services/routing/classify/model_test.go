package classify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/routing/classify"
)

// tiny is a small hand-written corpus of three competences.
var tiny = []classify.Example{
	{Text: "Le lampadaire de ma rue est éteint depuis lundi", Competence: "eclairage"},
	{Text: "lampadaire qui clignote toute la nuit devant chez moi", Competence: "eclairage"},
	{Text: "La rue est plongée dans le noir, plus aucun éclairage public", Competence: "eclairage"},
	{Text: "Un réverbère éteint au carrefour, c'est dangereux la nuit", Competence: "eclairage"},
	{Text: "l'éclairage du parking reste allumé en plein jour", Competence: "eclairage"},
	{Text: "ampoule grillée sur le lampadaire du square", Competence: "eclairage"},
	{Text: "Les poubelles n'ont pas été ramassées cette semaine", Competence: "dechets"},
	{Text: "Mon bac jaune est cassé, le couvercle est arraché", Competence: "dechets"},
	{Text: "Comment faire enlever des encombrants, un vieux canapé ?", Competence: "dechets"},
	{Text: "horaires de la déchetterie le dimanche", Competence: "dechets"},
	{Text: "la collecte des ordures n'est pas passée dans notre rue", Competence: "dechets"},
	{Text: "je voudrais un composteur et un nouveau bac", Competence: "dechets"},
	{Text: "Un nid-de-poule énorme sur la chaussée de l'avenue", Competence: "voirie"},
	{Text: "le trottoir est défoncé devant l'école", Competence: "voirie"},
	{Text: "La chaussée s'affaisse au carrefour, trou profond", Competence: "voirie"},
	{Text: "panneau stop arraché et marquage au sol effacé", Competence: "voirie"},
	{Text: "des nids de poule partout sur la route", Competence: "voirie"},
	{Text: "bordure de trottoir cassée, on trébuche", Competence: "voirie"},
}

func train(t *testing.T, rules *classify.Rules) *classify.Model {
	t.Helper()
	m, err := classify.Train(tiny, rules, classify.TrainOptions{Folds: 3, MinDF: 1, Iterations: 200,
		Now: func() time.Time { return time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTrainAndClassify(t *testing.T) {
	rules, err := classify.CompileRules([]classify.Rule{{Competence: "dechets", Phrase: "encombrants", Weight: 2}})
	if err != nil {
		t.Fatal(err)
	}
	m := train(t, rules)
	c := classify.New(m, rules)
	for text, want := range map[string]string{
		"le lampadaire devant le 4 est éteint":          "eclairage",
		"personne n'a ramassé les poubelles":            "dechets",
		"un trou sur la chaussée, un vrai nid de poule": "voirie",
		"je dois me débarrasser d'encombrants":          "dechets",
	} {
		p := c.Classify(text)
		if p.Competence != want {
			t.Errorf("%q: %s (%.2f), want %s", text, p.Competence, p.Probability, want)
		}
		sum := 0.0
		for _, s := range p.Ranked {
			sum += s.Probability
		}
		if len(p.Ranked) != 3 || sum < 0.999 || sum > 1.001 || p.Ranked[0].Probability != p.Probability {
			t.Errorf("%q: ranked %+v", text, p.Ranked)
		}
		if len(p.Terms) == 0 || !strings.Contains(p.Explain(), want) || p.ModelVersion != m.Version {
			t.Errorf("%q: no explanation: %+v", text, p)
		}
	}
	p := c.Classify("je dois me débarrasser d'encombrants")
	if len(p.Rules) != 1 || p.Rules[0].Words != "encombrants" || !strings.Contains(p.Explain(), "« encombrants » (+2.0)") {
		t.Errorf("rule not reported: %+v / %s", p.Rules, p.Explain())
	}
	if m.CV == nil || m.CV.Folds != 3 || m.Corpus.Examples != len(tiny) || m.Corpus.PerClass["voirie"] != 6 || !strings.HasPrefix(m.Version, "clf-") {
		t.Errorf("model metadata %+v %+v", m.CV, m.Corpus)
	}
}

func TestTrainingIsDeterministic(t *testing.T) {
	a, b := train(t, nil), train(t, nil)
	if a.Version != b.Version || a.Corpus.SHA256 != b.Corpus.SHA256 {
		t.Errorf("two trainings on the same data: %s, %s", a.Version, b.Version)
	}
	changed := append([]classify.Example{{Text: "lampadaire tordu", Competence: "eclairage"}}, tiny...)
	m, err := classify.Train(changed, nil, classify.TrainOptions{Folds: 3, MinDF: 1, Iterations: 200})
	if err != nil {
		t.Fatal(err)
	}
	if m.Corpus.SHA256 == a.Corpus.SHA256 {
		t.Error("the corpus hash does not see a new example")
	}
}

func TestSaveAndLoad(t *testing.T) {
	m := train(t, nil)
	path := filepath.Join(t.TempDir(), "model.json")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := classify.LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	text := "lampadaire éteint rue des Lilas"
	if a, b := classify.New(m, nil).Classify(text), classify.New(back, nil).Classify(text); a.Probability != b.Probability || back.Version != m.Version {
		t.Errorf("loaded model differs: %v vs %v", a, b)
	}
	for name, data := range map[string]string{
		"not JSON":     "{",
		"empty object": "{}",
		"other format": `{"format":"x"}`,
		"sizes":        `{"format":"guichet-classifier/1","classes":["a","b"],"features":["w:x"],"idf":[],"weights":[[1],[1]],"bias":[0,0],"temperature":1}`,
		"temperature":  `{"format":"guichet-classifier/1","classes":["a","b"],"features":[],"idf":[],"weights":[[],[]],"bias":[0,0],"temperature":0}`,
	} {
		if _, err := classify.ParseModel([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := classify.LoadModel(filepath.Join(t.TempDir(), "absent.json")); err == nil || !os.IsNotExist(errorsUnwrap(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func errorsUnwrap(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// The citizen's name, e-mail and phone never change a decision, even a
// name that is a word of a competence.
func TestIdentityIsNotAFeature(t *testing.T) {
	c := classify.New(train(t, nil), nil)
	req := func(name, email string) schemas.Request {
		return schemas.Request{Channel: schemas.ChannelMail, Subject: "Bac cassé",
			Body:    "Madame, Monsieur,\nmon bac jaune est cassé.\nJe vous prie d'agréer mes salutations.\n" + name + "\n" + email,
			Citizen: &schemas.Citizen{Name: name, Email: email}}
	}
	a := c.ClassifyRequest(req("Jean Lampadaire", "jean.lampadaire@example.org"))
	b := c.ClassifyRequest(req("Anne Martin", "anne.martin@example.net"))
	if a.Competence != b.Competence || a.Probability != b.Probability {
		t.Errorf("identity changed the decision: %+v vs %+v", a, b)
	}
	for _, term := range a.Terms {
		if strings.Contains(strings.ToLower(term.Words), "lampadaire") {
			t.Errorf("the name is a feature: %+v", a.Terms)
		}
	}
}

func TestTextOf(t *testing.T) {
	phone := schemas.Request{Channel: schemas.ChannelPhone, Subject: "Appel téléphonique", Body: "le bac est cassé",
		Transcript: []schemas.Turn{{Speaker: "agent", Text: "métropole bonjour"}, {Speaker: "caller", Text: "le bac est cassé"},
			{Speaker: "agent", Text: "c'est la collecte des déchets qui remplace les bacs"},
			{Speaker: "agent", Text: "donc je note un bac cassé au 4 rue des Lilas"}}}
	// The greeting says nothing; the agent's other turns name the service.
	if got := classify.TextOf(phone); got != "le bac est cassé\nc'est la collecte des déchets qui remplace les bacs\ndonc je note un bac cassé au 4 rue des Lilas" {
		t.Errorf("phone text %q", got)
	}
	mail := schemas.Request{Channel: schemas.ChannelMail, Subject: "Bac cassé",
		Body: "Madame, Monsieur,\nMon bac est cassé.\nJe vous prie d'agréer, Madame, l'expression de mes salutations.\nCordialement"}
	if got := classify.TextOf(mail); got != "Bac cassé\nMon bac est cassé." {
		t.Errorf("mail text %q", got)
	}
}
