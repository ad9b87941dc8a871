// tuanbot board: live updates over server-sent events, and nothing else.
// The server sends rendered parts of the page by name (data-section="…"); this puts them in place.
// All words come from the server's templates; this file has none.
(function () {
  "use strict";
  var body = document.body;

  function show(selector) {
    var el = document.querySelector(selector);
    if (el) { el.hidden = false; }
  }

  // The results page's poster: hide its slot while no poster is available.
  var poster = document.querySelector("[data-poster] img");
  if (poster) {
    var hidePoster = function () { poster.parentNode.hidden = true; };
    poster.addEventListener("error", hidePoster);
    if (poster.complete && poster.naturalWidth === 0) { hidePoster(); }
  }

  var url = body.getAttribute("data-stream");
  if (!url || !window.EventSource) { return; }
  var source = new EventSource(url);
  source.addEventListener("open", function () { body.setAttribute("data-live-state", "open"); });
  source.addEventListener("error", function () { body.setAttribute("data-live-state", "reconnecting"); });
  source.addEventListener("figures", function (event) {
    var data = JSON.parse(event.data);
    Object.keys(data.sections).forEach(function (name) {
      var el = document.querySelector('[data-section="' + name + '"]');
      if (el) { el.innerHTML = data.sections[name]; }
    });
    body.setAttribute("data-live-seq", String(data.seq));
  });
  source.addEventListener("expired", function () {
    source.close();
    body.setAttribute("data-live-state", "expired");
    show("[data-expired]");
  });
  source.addEventListener("gone", function () {
    source.close();
    body.setAttribute("data-live-state", "gone");
    show("[data-gone]");
  });
})();
