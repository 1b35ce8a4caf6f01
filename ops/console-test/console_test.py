"""The operator console in a real browser: headless Chromium (Debian's) driven by Selenium, against `dialer serve`,
a `dialer run` worker draining two campaigns through the fake Twilio, and PostgreSQL.

Run by ops/console-test/run (and so by ops/test). Each check prints one line; the first failure stops the run with
exit status 1. Screenshots of every page at 1280x800 (and the campaigns page at 375 px) go to .run/screenshots/.
"""

import os
import re
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
from harness import ROOT, Harness, free_port, healthy  # noqa: E402

BASE_URL = os.environ["DATABASE_URL"].split("?")[0]
SCHEMA = "console_browser"
SHOTS = os.path.join(ROOT, ".run/screenshots")
PASSWORD = "correct horse battery staple"
run = Harness("console-test", f"{BASE_URL}?search_path={SCHEMA}", f"{BASE_URL}?options=-csearch_path%3D{SCHEMA}")
check, dialer, sql, start, wait = run.check, run.dialer, run.sql, run.start, run.wait


def campaign_dials(campaign):
    return int(sql(f"SELECT count(*) FROM call_attempts a JOIN call_jobs j ON j.id = a.job_id WHERE j.campaign_id = '{campaign}' AND a.kind = 'dial'"))


def shot(driver, name):
    os.makedirs(SHOTS, exist_ok=True)
    driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def field(driver, campaign, name):
    return driver.find_element(By.CSS_SELECTOR, f'[data-campaign="acme/{campaign}"] [data-field="{name}"]').text


def sign_in(driver, base, name):
    driver.get(base + "/console/login")
    driver.find_element(By.ID, "operator").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)
    wait(f"{name} is signed in", lambda: driver.current_url.rstrip("/").endswith("/console"))


def error_code(driver):
    return driver.find_element(By.CSS_SELECTOR, "[data-error]").get_attribute("data-error")


# WCAG 2.1 contrast of every visible text on the page against its effective background (the first opaque background
# up the tree): 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold). SVG text is read by its fill.
CONTRAST_JS = """
function parse(c) { const m = c && c.match(/rgba?\\(([^)]+)\\)/); return m ? m[1].split(',').map(parseFloat) : null; }
function rel(p) { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(p[0]) + 0.7152 * f(p[1]) + 0.0722 * f(p[2]); }
function background(el) { for (; el; el = el.parentElement) { const p = parse(getComputedStyle(el).backgroundColor);
  if (p && (p.length < 4 || p[3] > 0)) return p; } return [255, 255, 255]; }
const bad = []; let checked = 0;
for (const el of document.querySelectorAll('body *')) {
  if (['SCRIPT', 'STYLE', 'title', 'desc'].includes(el.tagName)) continue;
  if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
  const box = el.getBoundingClientRect(); const style = getComputedStyle(el);
  if (box.width === 0 || box.height === 0 || style.visibility === 'hidden' || box.right < 0) continue;
  const fg = parse(el instanceof SVGElement ? style.fill : style.color); if (!fg) continue;
  const a = rel(fg), b = rel(background(el)); const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
  checked++;
  if (ratio < ((size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5)) bad.push(el.tagName + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
}
return [checked, bad];
"""


LABELS_JS = """return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(i => !(i.labels && i.labels.length > 0 && i.labels[0].textContent.trim().length > 0)).map(i => i.name || i.id)"""


def accessible(driver, page):
    unlabelled = driver.execute_script(LABELS_JS)
    check(not unlabelled, f"every input of the {page} page has a label{': missing for ' + ', '.join(unlabelled) if unlabelled else ''}")
    checked, bad = driver.execute_script(CONTRAST_JS)
    check(checked > 0 and not bad, f"every text on the {page} page meets WCAG AA contrast ({checked} checked){': ' + '; '.join(bad[:5]) if bad else ''}")


def main():
    sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}", url=BASE_URL)
    dialer("migrate")
    fake = start(["fake-twilio", "--port", "0", "--time-scale", "0.01", "--account", "AC0123456789abcdef0123456789abcdef=+14155550100"],
                 {}, "listening on ")
    twilio = re.search(r"listening on (\S+)", fake).group(1)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    served = {"TWILIO_BASE_URL": twilio, "DIALER_STATUS_CALLBACK_URL": f"{base}/twilio/status", "DIALER_SERVE_ADDRESS": f"127.0.0.1:{port}"}
    dialer("tenant", "--id", "acme", "--verification", "approved", "--subaccount", "AC0123456789abcdef0123456789abcdef", "--number", "+14155550100")
    dialer("operators", "add", "--id", "alice", "--role", "operator", "--password-stdin", stdin=PASSWORD + "\n")
    dialer("operators", "add", "--id", "vic", "--role", "viewer", "--tenant", "acme", "--password-stdin", stdin=PASSWORD + "\n")
    # autumn is big enough that it is still dialing when spring is paused (at 3 calls/s, whatever order the claims take).
    for campaign, first, count in [("spring", 3000, 80), ("autumn", 4000, 200)]:
        rows = ["to,consent_type,consent_at,consent_source"] + [f"+1415555{first + i},pec,2025-09-01T16:00:00Z,intake form" for i in range(count)]
        path = os.path.join(tempfile.gettempdir(), f"console-test-{campaign}.csv")
        open(path, "w").write("\n".join(rows) + "\n")
        dialer("enqueue", "--tenant", "acme", "--campaign", campaign, "--objective", "Confirm the appointment", "--csv", path)
    start(["serve"], served, lambda _: healthy(f"{base}/healthz"))
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800", "--disable-gpu"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    driver.set_window_size(1280, 800)
    try:
        run_browser(driver, base, served)
    finally:
        driver.quit()


def run_browser(driver, base, served):
    driver.get(base + "/console")
    check(driver.current_url.endswith("/console/login"), "an anonymous visit lands on the sign-in page")
    labels = driver.execute_script("""return [...document.querySelectorAll('input:not([type=hidden])')]
        .every(i => i.labels && i.labels.length > 0 && i.labels[0].textContent.trim().length > 0)""")
    check(labels, "every input of the sign-in form has a label")
    shot(driver, "login")
    accessible(driver, "sign-in")
    sign_in(driver, base, "alice")
    check(field(driver, "spring", "done") == "0" and field(driver, "spring", "total") == "80", "the campaigns page shows spring: 0 of 80 done")
    shot(driver, "campaigns")
    accessible(driver, "campaigns")
    # The drain starts with the page open: its numbers move without a reload (server-sent events).
    driver.execute_script("window.__notReloaded = true")
    start(["run"], dict(served, DIALER_CALLS_PER_SECOND="3"), "")
    # Which campaign's jobs the worker takes first is the claim's business (jobs sent back for a later pacing slot go
    # behind newer ones): the check is that the page's numbers move at all.
    def done():
        return sum(int(field(driver, c, "done").replace(",", "")) for c in ("spring", "autumn"))
    wait("the campaigns' done counts move while the worker drains, without a reload",
         lambda: done() > 0 and driver.execute_script("return window.__notReloaded === true"), 60)
    check(True, f"the campaigns' done counts moved to {done()} live, without a reload")
    # Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    check(driver.switch_to.active_element.get_attribute("class") == "skip", "the first Tab focuses the skip link")
    driver.get(base + "/console/campaigns/acme/spring")
    shot(driver, "campaign")
    driver.find_element(By.XPATH, "//button[starts-with(normalize-space(.), 'Pause')]").click()
    wait("pause's preview is shown", lambda: driver.find_elements(By.CSS_SELECTOR, "[data-preview=pause]"), 30)
    preview = driver.find_element(By.CSS_SELECTOR, "[data-preview=pause]").text
    check("waiting jobs are parked" in preview and sql("SELECT count(*) FROM queue_pauses") == "0", f"pause shows a preview first and changes nothing: {preview}")
    shot(driver, "pause-preview")
    driver.find_element(By.ID, "reason").send_keys("browser test")
    claimed = int(sql("SELECT count(*) FROM call_jobs WHERE campaign_id = 'spring' AND state = 'active'"))
    dials_at_pause = campaign_dials("spring")
    driver.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait("the pause's confirmation is answered", lambda: "Paused:" in driver.find_element(By.CSS_SELECTOR, ".notice").text, 30)
    check(sql("SELECT count(*) FROM queue_pauses WHERE campaign_id = 'spring'") == "1", "the confirmation pauses the campaign")
    # Jobs the worker had claimed before the pause (waiting for their pacing slot) are handed back, not dialed.
    wait("the jobs claimed before the pause leave the worker", lambda: sql(
        "SELECT count(*) FROM call_jobs WHERE campaign_id = 'spring' AND state = 'active'") == "0", 60)
    if claimed >= 6:
        late = campaign_dials("spring") - dials_at_pause
        check(late < claimed, f"of {claimed} jobs claimed before the pause, {late} were dialed and the rest handed back")
    before, autumn_before = campaign_dials("spring"), campaign_dials("autumn")
    time.sleep(4)
    check(campaign_dials("spring") == before, f"no worker takes a paused campaign's jobs ({before} dials before and after)")
    autumn_waiting = sql("SELECT count(*) FROM call_jobs WHERE campaign_id = 'autumn' AND state IN ('queued', 'deferred', 'retrying')")
    check(autumn_waiting != "0", f"autumn still has jobs to dial ({autumn_waiting})")
    wait("the other campaign keeps dialing", lambda: campaign_dials("autumn") > autumn_before, 60)
    check(True, f"the other campaign keeps dialing ({autumn_before} dials, then {campaign_dials('autumn')})")
    # The campaign page's pace and chart come from the processes' counters (written every 5 s), not from call_jobs.
    driver.get(base + "/console/campaigns/acme/autumn")
    wait("autumn's dials per minute come through", lambda: float(driver.find_element(
        By.CSS_SELECTOR, "[data-field=dials_per_minute]").text.replace(",", "")) > 0, 30)
    driver.get(base + "/console/campaigns/acme/autumn")
    check(driver.find_elements(By.CSS_SELECTOR, "figure.chart svg polyline"), "autumn's page draws its dials over time")
    accessible(driver, "campaign")
    shot(driver, "campaign-activity")
    driver.get(base + "/console/subaccounts")
    row = driver.find_element(By.CSS_SELECTOR, "tr[data-tenant=acme]").text
    check("AC0123456789abcdef0123456789abcdef" in row and " 3 " in f" {row} ", f"the subaccounts page shows acme's subaccount at 3 calls/s: {row}")
    accessible(driver, "subaccounts")
    shot(driver, "subaccounts")
    driver.get(base + "/console/workers")
    states = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "table.workers [data-field=state]")]
    roles = driver.find_element(By.CSS_SELECTOR, "table.workers").text
    check("running" in states and "worker" in roles and "serve" in roles, f"the workers page shows the running worker and serve ({states})")
    accessible(driver, "workers")
    shot(driver, "workers")
    driver.get(base + "/console/campaigns/acme/spring")
    # Cancel with a dry run: the preview counts the jobs, nothing is cancelled until the confirmation.
    waiting = int(sql("SELECT count(*) FROM call_jobs WHERE campaign_id = 'spring' AND state IN ('queued','deferred','retrying','paused')"))
    driver.find_element(By.XPATH, "//button[starts-with(normalize-space(.), 'Cancel waiting jobs')]").click()
    wait("cancel's preview is shown", lambda: driver.find_elements(By.CSS_SELECTOR, "[data-preview=cancel]"), 30)
    text = driver.find_element(By.CSS_SELECTOR, "[data-preview=cancel]").text
    check(f"This will cancel {waiting:,} waiting jobs." in text and sql("SELECT count(*) FROM call_jobs WHERE state = 'cancelled'") == "0",
          f"cancel's dry run says how many and cancels nothing: {text}")
    shot(driver, "cancel-preview")
    driver.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait("the cancel's confirmation is answered", lambda: "Cancelled" in driver.find_element(By.CSS_SELECTOR, ".notice").text, 30)
    check(sql("SELECT count(*) FROM call_jobs WHERE campaign_id = 'spring' AND state = 'cancelled'") == str(waiting), f"the confirmation cancels those {waiting} jobs")
    # A dialed call's story: the gate's rule and the callee's local time, the dial, the number masked for an operator.
    dialed = sql("SELECT id FROM call_jobs WHERE campaign_id = 'spring' AND twilio_call_sid IS NOT NULL ORDER BY id LIMIT 1")
    driver.get(base + "/console/calls/" + dialed)
    story = driver.find_element(By.TAG_NAME, "main").text
    check("dial" in story and re.search(r"\+1415555\*\*\*\*", story) and not re.search(r"\+1415555\d{4}", story),
          f"call {dialed}'s page tells its dial with the number masked")
    shot(driver, "call")
    accessible(driver, "call")
    # CSRF: the same form without its token is refused, and nothing changes.
    driver.get(base + "/console/campaigns/acme/autumn")
    driver.execute_script("document.querySelectorAll('input[name=csrf]').forEach(i => i.remove())")
    driver.find_element(By.XPATH, "//button[starts-with(normalize-space(.), 'Pause')]").click()
    wait("the tokenless form is answered", lambda: driver.find_elements(By.CSS_SELECTOR, "[data-error]"), 30)
    check(error_code(driver) == "csrf_rejected" and sql("SELECT count(*) FROM queue_pauses WHERE campaign_id = 'autumn'") == "0",
          "a form without its CSRF token is refused (csrf_rejected) and autumn stays running")
    driver.get(base + "/console/audit")
    audit = driver.find_element(By.TAG_NAME, "main").text
    check("console:alice" in audit and "pause" in audit and "cancel" in audit, "the audit page lists alice's pause and cancel")
    shot(driver, "audit")
    accessible(driver, "audit")
    driver.find_element(By.XPATH, "//button[normalize-space(.)='Sign out']").click()
    wait("sign out returns to the sign-in page", lambda: driver.current_url.endswith("/console/login"), 30)
    check(True, "sign out returns to the sign-in page")
    driver.get(base + "/console")
    check(driver.current_url.endswith("/console/login"), "after sign-out the console asks to sign in again")
    # A viewer sees the campaign without controls, and a forged action is refused.
    sign_in(driver, base, "vic")
    driver.get(base + "/console/campaigns/acme/autumn")
    check(not driver.find_elements(By.XPATH, "//button[starts-with(normalize-space(.), 'Pause')]"), "a viewer's campaign page has no controls")
    shot(driver, "campaign-viewer")
    driver.execute_script("""const f = document.createElement('form'); f.method = 'post'; f.action = location.pathname + '/pause';
        for (const [n, v] of [['csrf', document.querySelector('input[name=csrf]').value], ['confirm', 'yes']]) {
          const i = document.createElement('input'); i.type = 'hidden'; i.name = n; i.value = v; f.appendChild(i); }
        document.body.appendChild(f); f.submit();""")
    wait("the viewer's forged pause gets an answer", lambda: driver.find_elements(By.CSS_SELECTOR, "[data-error]"), 15)
    check(error_code(driver) == "role_required" and sql("SELECT count(*) FROM queue_pauses WHERE campaign_id = 'autumn'") == "0",
          "a viewer's action is refused (role_required) and changes nothing")
    # 375 px: the page does not scroll sideways (wide tables scroll inside their own box).
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 375, "height": 800, "deviceScaleFactor": 1, "mobile": True})
    driver.get(base + "/console")
    width = driver.execute_script("return document.documentElement.scrollWidth")
    check(width <= 375, f"the campaigns page fits 375 px (scroll width {width})")
    shot(driver, "campaigns-375px")
    driver.get(base + "/console/campaigns/acme/autumn")
    width = driver.execute_script("return document.documentElement.scrollWidth")
    check(width <= 375, f"a campaign's page fits 375 px (scroll width {width})")
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


if __name__ == "__main__":
    try:
        main()
    finally:
        run.stop_all()
    print("console-test: all checks passed; screenshots in .run/screenshots/")
