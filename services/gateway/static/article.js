// The article page: counts its own view from the browser (so cached copies of
// the page count too) and sends the comment form, showing each field's error
// next to it and then the comment's status. Plain JavaScript, no build step.
(function () {
  "use strict";
  var article = document.querySelector("[data-article-id]");
  if (!article) return;
  var id = article.getAttribute("data-article-id");
  var root = document.documentElement;

  fetch("/api/v1/articles/" + encodeURIComponent(id) + "/views", {
    method: "POST", keepalive: true, headers: { "Accept": "application/json" }
  }).then(function (r) {
    root.setAttribute("data-view-recorded", String(r.status));
  }).catch(function () {
    root.setAttribute("data-view-recorded", "failed");
  });

  var form = document.querySelector(".comment-form");
  if (!form) return;
  // The page carries a form token of this reader's own (the gateway's, or the front
  // cache's include): one is fetched only when it has none, after each comment sent,
  // and when a copy from the browser's cache carried one already used.
  var tokenInput = form.querySelector('[name="form_token"]');
  var parentInput = form.querySelector('[name="parent_id"]');
  document.querySelectorAll("[data-reply-to]").forEach(function (link) {
    link.addEventListener("click", function () {
      parentInput.value = link.getAttribute("data-reply-to");
      form.querySelector('[name="comment"]').focus();
    });
  });
  // A token is good for one comment: a new one after each comment sent.
  function newToken() {
    return fetch("/api/v1/comments/form-token", { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) { tokenInput.value = body.form_token; })
      .catch(function () {});
  }
  if (!tokenInput.value) newToken();
  var statusLine = form.querySelector(".form-status");
  var STATUS = {
    pending: "تم استلام تعليقك وهو قيد المراجعة.",
    approved: "تم نشر تعليقك. شكراً لك!",
    held: "تعليقك بانتظار موافقة المشرف.",
    rejected: "لم يُقبل تعليقك.",
    removed: "أُزيل هذا التعليق.",
    failed: "تعذر إرسال التعليق. حاول مرة أخرى بعد قليل."
  };

  function showStatus(state) {
    statusLine.textContent = STATUS[state] || STATUS.failed;
    form.setAttribute("data-comment-status", state);
  }

  function clearErrors() {
    form.querySelectorAll(".field-error").forEach(function (el) { el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function poll(url, tries) {
    fetch(url, { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { status: "pending" }; })
      .then(function (body) {
        showStatus(body.status);
        if (body.status === "pending" && tries > 0) {
          setTimeout(function () { poll(url, tries - 1); }, 500);
        }
      })
      .catch(function () { if (tries > 0) setTimeout(function () { poll(url, tries - 1); }, 1000); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    var data = {};
    new FormData(form).forEach(function (value, key) { data[key] = value; });
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    fetch(form.getAttribute("action"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "Accept-Language": "ar" },
      body: JSON.stringify(data)
    }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    }).then(function (res) {
      button.disabled = false;
      if (res.status === 202) {
        form.reset();
        newToken();
        showStatus("pending");
        poll(res.body.status_url, 20);
      } else if (res.status === 422 && res.body.errors) {
        res.body.errors.forEach(function (e) {
          var slot = form.querySelector('[data-error-for="' + e.field + '"]');
          var input = form.querySelector('[name="' + e.field + '"]');
          if (slot) slot.textContent = e.message;
          if (input) input.setAttribute("aria-invalid", "true");
        });
        form.setAttribute("data-comment-status", "invalid");
        if (res.body.errors.some(function (e) { return e.field === "form_token"; })) newToken();
      } else {
        statusLine.textContent = (res.body && res.body.detail) || STATUS.failed;
        form.setAttribute("data-comment-status", "error");
      }
    }).catch(function () {
      button.disabled = false;
      showStatus("failed");
    });
  });
})();
