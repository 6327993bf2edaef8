"""Drives the explorer in headless Chromium (Debian's chromium and chromium-driver, through
python3-selenium): tests/tests/explorer.rs runs it against a node it set up.

usage: explorer_browser.py API NAME IP XSS_TXT COMPANY HOLDER MISSING IDENTITY CERT_SHA256 [SCREENSHOT.png]

Prints `ok` when every check held; fails with the reason otherwise."""

import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

api, name, ip, xss, company, holder, missing, identity, fingerprint = sys.argv[1:10]
screenshot = sys.argv[10] if len(sys.argv) > 10 else None

options = webdriver.ChromeOptions()
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--window-size=1280,1500", "--no-first-run", "--disable-extensions"]:
    options.add_argument(flag)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(60)
wait = WebDriverWait(driver, 60)


def text_of(element_id):
    return driver.find_element(By.ID, element_id).text


def search(query):
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(query)
    driver.find_element(By.CSS_SELECTOR, "#search button").click()


try:
    driver.get(api + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "height"))
    assert "node serving it" in driver.find_element(By.CLASS_NAME, "trust").text

    # A registered name: its records, the hostile TXT record shown as text.
    search(name)
    wait.until(ec.text_to_be_present_in_element((By.ID, "result"), ip))
    records = text_of("records")
    assert xss in records, f"the TXT record is not shown as text: {records!r}"
    result = driver.find_element(By.ID, "result")
    assert result.find_elements(By.TAG_NAME, "img") == [], "a record became markup"
    assert driver.execute_script("return window.sigilXss === undefined"), "injected script ran"
    assert "estimated from recent block times" in result.text
    proofs = [a.get_attribute("href") for a in result.find_elements(By.CLASS_NAME, "proof")]
    assert any(p.endswith(f"/v1/names/{name}/proof") for p in proofs), proofs
    if screenshot:
        driver.save_screenshot(screenshot)

    # The block that registered it, from the name's page: its transactions.
    driver.find_element(By.CSS_SELECTOR, '#result a[href^="#block/"]').click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "result"), "Transactions ("))
    assert "Transactions (0)" not in text_of("result"), "the registering block shows no transaction"

    # The company's admin identity: its keys and their history.
    search("identity:" + identity)
    wait.until(ec.text_to_be_present_in_element((By.ID, "result"), "Key history"))

    # A company's cap table, opened from the search box.
    search("company:" + company)
    wait.until(ec.presence_of_element_located((By.ID, "captable")))
    wait.until(ec.text_to_be_present_in_element((By.ID, "captable"), holder))

    # A certificate found from its fingerprint alone: the name it is registered under, active.
    search(fingerprint)
    wait.until(ec.text_to_be_present_in_element((By.ID, "result"), name))
    assert "active" in text_of("result"), text_of("result")
    driver.find_element(By.CSS_SELECTOR, f'#result a[href^="#cert/{name}/"]').click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "result"), "Certificate of"))

    # A name nobody registered: a clear message.
    search(missing)
    wait.until(ec.presence_of_element_located((By.CLASS_NAME, "notfound")))
    message = driver.find_element(By.CLASS_NAME, "notfound").text
    assert "not registered" in message and missing in message, message

    # The page ran without script errors (a CSP refusal would show here too).
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
              and "404" not in entry["message"]]
    assert errors == [], errors
    print("ok")
finally:
    driver.quit()
