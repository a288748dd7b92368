package webform

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// showAttachment serves a file of a status page's thread: the photo or PDF
// the citizen sent with the request or a follow-up. The code is the
// credential, and only the files its thread carries are served: a hash
// seen elsewhere, or a file of another request of the same case, gives the
// same 404 as a file that does not exist. Photos are shown in the page
// (inline), PDFs are downloaded; nothing served here may run a script.
func (h *Handler) showAttachment(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	if !isSHA256(sha) {
		h.notFound(w, r)
		return
	}
	t, ok := h.loadTracking(w, r)
	if !ok {
		return
	}
	a, ok := t.Attachment(sha)
	if !ok {
		h.notFound(w, r)
		return
	}
	key := a.ObjectKey
	if key == "" {
		key = attachment.Key(sha)
	}
	data, err := h.deps.Files.Get(r.Context(), key)
	if fault.KindOf(err) == fault.NotFound {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	ct := servedType(a.ContentType)
	disposition := "attachment" // PDFs: to the reader of the citizen's choice
	if strings.HasPrefix(ct, "image/") {
		disposition = "inline"
	}
	if d := mime.FormatMediaType(disposition, map[string]string{"filename": a.Name}); d != "" {
		disposition = d
	}
	hd := w.Header()
	// Nothing in the file may run, even opened on its own.
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Content-Type", ct)
	hd.Set("Content-Disposition", disposition)
	hd.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}

// isSHA256 says whether s is a sha256 as the attachment store names
// files: 64 lower-case hexadecimal digits.
func isSHA256(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// thumbnail says whether a file of that type is an image every browser
// shows in an <img>: the status page shows these as thumbnails, and links
// to the others (HEIC photos, PDFs) by their name.
func thumbnail(contentType string) bool {
	switch contentType {
	case "image/jpeg", "image/png", "image/webp":
		return true
	}
	return false
}

// servedType is the Content-Type a file is served with: the type the
// attachment store found in its content (never one a client claimed), and
// for anything unexpected a type no browser renders.
func servedType(contentType string) string {
	switch contentType {
	case "image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "application/pdf":
		return contentType
	}
	return "application/octet-stream"
}
