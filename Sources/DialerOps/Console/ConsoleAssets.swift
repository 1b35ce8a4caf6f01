/// The console's stylesheet and script, served from `/console/assets/` (no build step, no third-party code).
/// Colours meet WCAG AA contrast (4.5:1 for text); focus is always visible; the tables scroll sideways below 700 px
/// so a 375 px phone reads every page.
enum ConsoleAssets {
    static let css = """
        :root { --ink: #1b1f24; --muted: #4a5361; --line: #c9d1db; --bg: #ffffff; --band: #f3f5f8; --accent: #0b57b5;
                --ok: #0f6a36; --warn: #8a4b00; --bad: #a3161b; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
        * { box-sizing: border-box; }
        body { margin: 0; color: var(--ink); background: var(--bg); line-height: 1.45; }
        a { color: var(--accent); }
        a:focus-visible, button:focus-visible, input:focus-visible, main:focus-visible { outline: 3px solid #f0a400; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; top: 0; background: var(--ink); color: #fff; padding: .5rem 1rem; }
        .skip:focus { left: 0; z-index: 10; }
        header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .6rem 1rem; background: #14233a; color: #fff; }
        header a { color: #fff; }
        .brand { font-weight: 700; text-decoration: none; }
        nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
        nav a[aria-current="page"] { text-decoration: underline; text-underline-offset: 4px; font-weight: 600; }
        .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; font-size: .9rem; }
        .who form { margin: 0; }
        main { padding: 1rem; max-width: 1400px; }
        h1 { font-size: 1.5rem; margin: .5rem 0 1rem; } h2 { font-size: 1.1rem; }
        .sub { color: var(--muted); font-size: .85rem; font-weight: 400; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; }
        caption { text-align: left; color: var(--muted); padding: .25rem 0; }
        th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        thead th { background: var(--band); font-size: .85rem; }
        td.num, td[data-field] { font-variant-numeric: tabular-nums; }
        progress { width: 8rem; height: .8rem; }
        .chip { display: inline-block; background: var(--band); border: 1px solid var(--line); border-radius: 1rem; padding: 0 .5rem;
                margin: 0 .2rem .2rem 0; font-size: .8rem; white-space: nowrap; }
        .status { display: inline-block; border-radius: .3rem; padding: 0 .4rem; font-size: .85rem; font-weight: 600; }
        .status.running { background: #e3f3e9; color: var(--ok); } .status.paused { background: #fdf0dc; color: var(--warn); }
        .error { color: var(--bad); background: #fdecec; padding: .6rem .8rem; border-left: 4px solid var(--bad); }
        .notice, .preview { background: #e8f0fb; padding: .6rem .8rem; border-left: 4px solid var(--accent); }
        .live { color: var(--muted); font-size: .85rem; }
        .panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(18rem, 100%), 1fr)); gap: 1rem 2rem; }
        .panels section { min-width: 0; overflow-x: auto; }
        .controls { display: flex; flex-wrap: wrap; gap: .5rem; } .controls form { margin: 0; }
        button { font: inherit; padding: .45rem .9rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: .3rem; cursor: pointer; }
        header button { background: transparent; border-color: #fff; }
        button.danger { background: var(--bad); border-color: var(--bad); }
        form.signin, form.confirm { display: grid; gap: .5rem; max-width: 24rem; }
        input { font: inherit; padding: .45rem; border: 1px solid var(--muted); border-radius: .3rem; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
        dl.facts div { display: contents; }
        figure.chart { margin: 0; } figure.chart svg { width: 100%; height: auto; max-height: 18rem; border: 1px solid var(--line); background: #fff; }
        ul.legend { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; padding: 0; margin: .4rem 0; font-size: .85rem; }
        details summary { cursor: pointer; color: var(--accent); }
        details.filters form.filter { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .6rem 0; }
        fieldset { border: 1px solid var(--line); border-radius: .3rem; } fieldset label { margin-right: .8rem; white-space: nowrap; }
        select { font: inherit; padding: .4rem; border: 1px solid var(--muted); border-radius: .3rem; }
        .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
        table.failures form { margin: 0; }
        @media (max-width: 700px) { main { padding: .6rem; } dl.facts { grid-template-columns: 1fr; } .who { margin-left: 0; } th, td { padding: .35rem .4rem; } }
        """

    /// Follows `/console/live` (server-sent events, at most one a second) and writes each field into the cells that
    /// name it (`data-field`, within the row of its campaign); falls back to polling every 5 s when the stream fails.
    static let js = """
        (function () {
          var view = document.body.getAttribute('data-live');
          if (!view) return;
          var status = document.querySelector('[data-live-status]');
          function apply(data) {
            var campaigns = data.campaigns || {};
            Object.keys(campaigns).forEach(function (key) {
              var scope = document.querySelector('[data-campaign="' + CSS.escape(key) + '"]') || (view.indexOf('campaign/') === 0 ? document : null);
              if (!scope) return;
              var fields = campaigns[key];
              Object.keys(fields).forEach(function (name) {
                scope.querySelectorAll('[data-field="' + name + '"]').forEach(function (cell) { if (cell.textContent !== fields[name]) cell.textContent = fields[name]; });
              });
              var bar = scope.querySelector && scope.querySelector('progress');
              if (bar && fields.progress !== undefined) { bar.value = fields.progress; bar.setAttribute('aria-label', fields.progress + '% done'); }
            });
            if (status) status.textContent = 'Live: updated ' + new Date().toLocaleTimeString();
          }
          var url = '/console/live?view=' + encodeURIComponent(view);
          function poll() {
            fetch(url + '&once=1', { headers: { 'Accept': 'application/json' }, credentials: 'same-origin' })
              .then(function (r) { if (r.status === 401) { location.href = '/console/login'; return null; } return r.json(); })
              .then(function (d) { if (d) apply(d); }).catch(function () {});
          }
          if (window.EventSource) {
            var source = new EventSource(url);
            source.onmessage = function (event) { apply(JSON.parse(event.data)); };
            source.onerror = function () { source.close(); if (status) status.textContent = 'Live stream lost: refreshing every 5 s.'; setInterval(poll, 5000); };
          } else { setInterval(poll, 5000); }
        })();
        """
}
