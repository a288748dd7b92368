package extract

import "strings"

// maxNameWords bounds the words of a name.
const maxNameWords = 3

// nameTriggers are the phrases a caller introduces themselves with. Some
// ("je suis", "c'est", "ici") introduce a name only before a title:
// "je suis madame Dupont", not "je suis inquiète".
type nameTrigger struct {
	words     []string
	needTitle bool
}

var nameTriggers = []nameTrigger{
	{[]string{"je", "m", "appelle"}, false},
	{[]string{"je", "m", "apelle"}, false},
	{[]string{"je", "me", "nomme"}, false},
	{[]string{"moi", "c", "est"}, false},
	{[]string{"mon", "nom", "de", "famille", "c", "est"}, false},
	{[]string{"mon", "nom", "de", "famille", "est"}, false},
	{[]string{"mon", "nom", "c", "est"}, false},
	{[]string{"mon", "nom", "est"}, false},
	{[]string{"de", "la", "part", "de"}, false},
	{[]string{"de", "la", "part", "d"}, false},
	{[]string{"ici"}, true},
	{[]string{"je", "suis"}, true},
	{[]string{"c", "est"}, true},
}

// triggersByWord indexes nameTriggers by first word, longest first.
var triggersByWord = func() map[string][]nameTrigger {
	m := map[string][]nameTrigger{}
	for _, tr := range nameTriggers {
		m[tr.words[0]] = append(m[tr.words[0]], tr)
	}
	return m
}()

// name returns the name the speaker gives after an introduction ("je
// m'appelle Marcel Giraud", "c'est madame Dupont", "moi c'est Karim Benali",
// "de la part de…"): one to three words that may be a name, capitalized.
// A title is kept when said with a surname alone ("Madame Dupont"). Marks
// the name's tokens.
func (d *doc) name() string {
	for i := 0; i < len(d.t); i++ {
		if !d.free(i) {
			continue
		}
		for _, tr := range triggersByWord[d.t[i].w] {
			if !d.matchWords(i, tr.words) {
				continue
			}
			if s, end, ok := d.nameAfter(i+len(tr.words), tr.needTitle); ok {
				d.mark(i, end)
				return s
			}
			break
		}
	}
	return ""
}

// nameAfter reads [title] word{1,3} from j.
func (d *doc) nameAfter(j int, needTitle bool) (string, int, bool) {
	j = d.skipFillersFree(j)
	title, firstSep := "", " ,:"
	if d.free(j) && sepOnly(d.t[j].sep, firstSep) {
		w := d.t[j].w
		if t := titles[w]; t != "" {
			title = t
		} else if w == "m" && j+1 < len(d.t) && strings.HasPrefix(d.t[j+1].sep, ".") {
			title, firstSep = "Monsieur", " ." // "M. Dupont"
		}
		if title != "" {
			j = d.skipFillersFree(j + 1)
		}
	}
	if needTitle && title == "" {
		return "", 0, false
	}
	var words []string
	last := ""
	end := j
	for k := j; k < len(d.t) && len(words) < maxNameWords; {
		if !d.free(k) {
			break
		}
		if (k > j && !sepOnly(d.t[k].sep, " ")) || (k == j && !sepOnly(d.t[k].sep, firstSep)) {
			break
		}
		if isFiller(d.t[k].w) {
			k++
			continue // "marcel euh giraud": goes on only if a name follows
		}
		word, next, ok := d.nameWord(k)
		if !ok {
			break
		}
		if strings.ToLower(word) != last { // "marcel marcel giraud"
			words = append(words, word)
			last = strings.ToLower(word)
		}
		k, end = next, next
	}
	if len(words) == 0 {
		return "", 0, false
	}
	if title != "" && len(words) == 1 {
		return title + " " + words[0], end, true
	}
	return strings.Join(words, " "), end, true
}

// nameWord reads one word of a name at k, with the rest of a hyphenated
// name ("jean-pierre" → "Jean-Pierre").
func (d *doc) nameWord(k int) (string, int, bool) {
	ok := func(i int) bool {
		w := d.t[i].w
		return len(w) >= 2 && isWord(w) && !stopWords[w] && !notNames[w] && titles[w] == "" && !isNumberWord(w) && !d.elided(i)
	}
	if !ok(k) {
		return "", 0, false
	}
	if _, street := streetTypes[d.t[k].w]; street {
		return "", 0, false
	}
	var b strings.Builder
	b.WriteString(capitalize(d.t[k].surf))
	i := k + 1
	for d.free(i) && d.t[i].sep == "-" && isWord(d.t[i].w) && !isNumberWord(d.t[i].w) {
		b.WriteByte('-')
		b.WriteString(capitalize(d.t[i].surf))
		i++
	}
	return b.String(), i, true
}
