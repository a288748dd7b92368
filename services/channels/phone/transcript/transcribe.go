package transcript

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// awsDoc is the JSON of an Amazon Transcribe job (results) or of a Call
// Analytics job (Transcript).
type awsDoc struct {
	Results    *awsResults `json:"results"`
	Transcript *[]caTurn   `json:"Transcript"`
}

// caTurn is a turn of a Call Analytics transcript.
type caTurn struct {
	ParticipantRole   string `json:"ParticipantRole"`
	Content           string `json:"Content"`
	BeginOffsetMillis num    `json:"BeginOffsetMillis"`
	EndOffsetMillis   num    `json:"EndOffsetMillis"`
}

type awsResults struct {
	Transcripts []struct {
		Transcript string `json:"transcript"`
	} `json:"transcripts"`
	SpeakerLabels *awsSpeakerLabels `json:"speaker_labels"`
	ChannelLabels *struct {
		Channels []struct {
			ChannelLabel string    `json:"channel_label"`
			Items        []awsItem `json:"items"`
		} `json:"channels"`
	} `json:"channel_labels"`
	Items         []awsItem `json:"items"`
	AudioSegments []struct {
		Transcript   string `json:"transcript"`
		StartTime    num    `json:"start_time"`
		EndTime      num    `json:"end_time"`
		SpeakerLabel string `json:"speaker_label"`
		ChannelLabel string `json:"channel_label"`
	} `json:"audio_segments"`
}

type awsSpeakerLabels struct {
	Segments []awsSpeakerSegment `json:"segments"`
}

type awsSpeakerSegment struct {
	StartTime    num    `json:"start_time"`
	EndTime      num    `json:"end_time"`
	SpeakerLabel string `json:"speaker_label"`
	Items        []struct {
		StartTime    num    `json:"start_time"`
		SpeakerLabel string `json:"speaker_label"`
	} `json:"items"`
}

// awsItem is a word ("pronunciation", with times) or a punctuation mark
// (without).
type awsItem struct {
	StartTime    num    `json:"start_time"`
	EndTime      num    `json:"end_time"`
	Type         string `json:"type"`
	Alternatives []struct {
		Content string `json:"content"`
	} `json:"alternatives"`
	SpeakerLabel string `json:"speaker_label"`
	ChannelLabel string `json:"channel_label"`
}

// maxWordLen bounds a word with the punctuation attached to it.
const maxWordLen = 256

// word is a word of a word-level transcript, with its speaker or channel.
type word struct {
	text       string
	start, end float64
	timed      bool
	who        string
}

// parseTranscribe reads Amazon Transcribe JSON. Call Analytics turns carry
// their role. Otherwise words (results.items, times as strings,
// punctuation attached to the word before) are grouped into turns by
// speaker — the item's own speaker_label, else the one speaker_labels
// gives its start time — or by channel (channel_labels, ch_0/ch_1). Without
// either, audio_segments are the turns, else sentences.
func parseTranscribe(s string) (parsed, error) {
	var doc awsDoc
	if err := decodeJSON("transcribe", s, &doc); err != nil {
		return parsed{}, err
	}
	if doc.Transcript != nil {
		return callAnalytics(*doc.Transcript)
	}
	if doc.Results == nil {
		return parsed{}, errors.New("transcribe: ni « results » ni « Transcript » : ce JSON n'est pas une sortie Amazon Transcribe")
	}
	r := doc.Results
	var b builder
	hasSpeakers := r.SpeakerLabels != nil && len(r.SpeakerLabels.Segments) > 0
	hasChannels := r.ChannelLabels != nil && len(r.ChannelLabels.Channels) > 0
	for _, it := range r.Items {
		hasSpeakers = hasSpeakers || it.SpeakerLabel != ""
		hasChannels = hasChannels || it.ChannelLabel != ""
	}
	switch {
	case hasSpeakers && len(r.Items) > 0:
		at, err := speakerIndex(r.SpeakerLabels)
		if err != nil {
			return parsed{}, err
		}
		words, err := itemWords(nil, r.Items, "results.items", func(it awsItem, t float64) string {
			if it.SpeakerLabel != "" {
				return it.SpeakerLabel
			}
			return at(t)
		})
		if err != nil {
			return parsed{}, err
		}
		err = wordTurns(&b, words, false)
		return parsed{turns: b.turns}, err
	case hasChannels:
		var words []word
		var err error
		if r.ChannelLabels != nil && len(r.ChannelLabels.Channels) > 0 {
			for i, ch := range r.ChannelLabels.Channels {
				name := ch.ChannelLabel
				if name == "" {
					name = fmt.Sprintf("ch_%d", i)
				}
				words, err = itemWords(words, ch.Items, fmt.Sprintf("results.channel_labels.channels[%d].items", i), func(it awsItem, _ float64) string {
					if it.ChannelLabel != "" {
						return it.ChannelLabel
					}
					return name
				})
				if err != nil {
					return parsed{}, err
				}
			}
		} else {
			words, err = itemWords(nil, r.Items, "results.items", func(it awsItem, _ float64) string { return it.ChannelLabel })
			if err != nil {
				return parsed{}, err
			}
		}
		// The channels speak at once: put their words back in time order.
		sort.SliceStable(words, func(i, j int) bool { return words[i].start < words[j].start })
		err = wordTurns(&b, words, false)
		return parsed{turns: b.turns}, err
	case len(r.AudioSegments) > 0:
		for i, seg := range r.AudioSegments {
			t, err := segmentTimes("transcribe", fmt.Sprintf("le segment audio %d", i+1), seg.StartTime, seg.EndTime, 1)
			if err != nil {
				return parsed{}, err
			}
			t.Label, t.Text = seg.SpeakerLabel, seg.Transcript
			if t.Label == "" {
				t.Label = seg.ChannelLabel
			}
			if err := b.add(t); err != nil {
				return parsed{}, err
			}
		}
	case len(r.Items) > 0:
		words, err := itemWords(nil, r.Items, "results.items", func(awsItem, float64) string { return "" })
		if err != nil {
			return parsed{}, err
		}
		err = wordTurns(&b, words, true)
		return parsed{turns: b.turns}, err
	default:
		for i, tr := range r.Transcripts {
			if err := b.add(turn{Turn: Turn{Text: tr.Transcript}, where: fmt.Sprintf("la transcription %d", i+1)}); err != nil {
				return parsed{}, err
			}
		}
	}
	return parsed{turns: b.turns}, nil
}

// callAnalytics reads the turns of a Call Analytics transcript, whose
// ParticipantRole says who is who.
func callAnalytics(entries []caTurn) (parsed, error) {
	var b builder
	roles := map[Role]bool{}
	for i, e := range entries {
		t, err := segmentTimes("transcribe", fmt.Sprintf("le tour %d", i+1), e.BeginOffsetMillis, e.EndOffsetMillis, 1000)
		if err != nil {
			return parsed{}, err
		}
		t.Label, t.Text = e.ParticipantRole, e.Content
		switch strings.ToUpper(strings.TrimSpace(e.ParticipantRole)) {
		case "AGENT":
			t.Role = RoleAgent
		case "CUSTOMER":
			t.Role = RoleCaller
		default:
			t.Role = RoleUnknown
		}
		roles[t.Role] = true
		if err := b.add(t); err != nil {
			return parsed{}, err
		}
	}
	p := parsed{turns: b.turns}
	if roles[RoleAgent] || roles[RoleCaller] {
		p.attr = &Attribution{Method: MethodParticipantRole, Confidence: 1,
			Detail: "Amazon Transcribe Call Analytics donne le rôle de chaque participant : AGENT est l'agent, CUSTOMER l'appelant."}
		if roles[RoleAgent] {
			p.attr.AgentLabel = "AGENT"
		}
	}
	return p, nil
}

// speakerIndex returns who speaks at a time according to speaker_labels:
// the speaker of the item starting then, else of the segment covering it.
func speakerIndex(sl *awsSpeakerLabels) (func(float64) string, error) {
	if sl == nil {
		return func(float64) string { return "" }, nil
	}
	type span struct {
		start, end float64
		who        string
	}
	byStart := map[int64]string{}
	var spans []span
	for i, seg := range sl.Segments {
		start, ok, err := seg.StartTime.time(1)
		if err != nil {
			return nil, fmt.Errorf("transcribe: results.speaker_labels.segments[%d]: %w", i, err)
		}
		end, okEnd, err := seg.EndTime.time(1)
		if err != nil {
			return nil, fmt.Errorf("transcribe: results.speaker_labels.segments[%d]: %w", i, err)
		}
		if ok && okEnd {
			spans = append(spans, span{start, end, seg.SpeakerLabel})
		}
		for j, it := range seg.Items {
			t, ok, err := it.StartTime.time(1)
			if err != nil {
				return nil, fmt.Errorf("transcribe: results.speaker_labels.segments[%d].items[%d]: %w", i, j, err)
			}
			who := it.SpeakerLabel
			if who == "" {
				who = seg.SpeakerLabel
			}
			if ok && len(byStart) < maxWords {
				byStart[millis(t)] = who
			}
		}
	}
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	return func(t float64) string {
		if who, ok := byStart[millis(t)]; ok {
			return who
		}
		k := sort.Search(len(spans), func(i int) bool { return spans[i].start > t }) - 1
		if k >= 0 && t <= spans[k].end {
			return spans[k].who
		}
		return ""
	}, nil
}

func millis(t float64) int64 { return int64(math.Round(t * 1000)) }

// itemWords appends the words of Transcribe items to words: punctuation
// goes to the end of the word before (of the same channel), whoOf says
// whose each word is (a word nobody claims is the previous word's speaker).
func itemWords(words []word, items []awsItem, path string, whoOf func(awsItem, float64) string) ([]word, error) {
	first := len(words)
	last := -1
	lastOf := map[string]int{}
	for i, it := range items {
		content := ""
		if len(it.Alternatives) > 0 {
			content = strings.TrimSpace(it.Alternatives[0].Content)
		}
		if content == "" {
			continue
		}
		start, timed, err := it.StartTime.time(1)
		if err != nil {
			return nil, fmt.Errorf("transcribe: %s[%d]: %w", path, i, err)
		}
		end, endTimed, err := it.EndTime.time(1)
		if err != nil {
			return nil, fmt.Errorf("transcribe: %s[%d]: %w", path, i, err)
		}
		if it.Type == "punctuation" {
			target := last
			if j, ok := lastOf[it.ChannelLabel]; ok && it.ChannelLabel != "" {
				target = j
			}
			if target >= 0 && len(words[target].text) < maxWordLen {
				words[target].text += content
			}
			continue
		}
		if len(words) >= maxWords {
			return nil, tooManyWords()
		}
		w := word{text: content, start: start, end: end, timed: timed}
		if !timed && last >= 0 {
			w.start = words[last].start
		}
		if !endTimed || w.end < w.start {
			w.end = w.start
		}
		w.who = whoOf(it, w.start)
		if w.who == "" && last >= first && last >= 0 {
			w.who = words[last].who
		}
		words = append(words, w)
		last = len(words) - 1
		lastOf[w.who] = last
	}
	return words, nil
}

// wordTurns groups consecutive words of one speaker into turns; bySentence
// (no speakers) ends a turn at the end of each sentence instead.
func wordTurns(b *builder, words []word, bySentence bool) error {
	for i := 0; i < len(words); {
		j := i + 1
		for j < len(words) {
			if bySentence {
				if endsSentence(words[j-1].text) {
					break
				}
			} else if words[j].who != words[i].who {
				break
			}
			j++
		}
		texts := make([]string, 0, j-i)
		t := turn{Turn: Turn{Label: words[i].who}, where: fmt.Sprintf("le tour de parole %d", len(b.turns)+1)}
		for _, w := range words[i:j] {
			texts = append(texts, w.text)
			if !w.timed {
				continue
			}
			if !t.Timed {
				t.Start, t.End, t.Timed = w.start, w.end, true
			}
			t.End = max(t.End, w.end)
		}
		t.Text = strings.Join(texts, " ")
		if err := b.add(t); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// endsSentence says whether a word ends a sentence.
func endsSentence(w string) bool {
	for _, end := range []string{".", "?", "!", "…"} {
		if strings.HasSuffix(w, end) {
			return true
		}
	}
	return false
}
