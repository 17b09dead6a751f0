"""Fixtures: a simple-salesforce client logged in to the sfemu started by ../run.sh.

The access token comes from the OAuth username-password flow (POST {login}/services/oauth2/token),
then simple-salesforce is used unchanged with session_id + instance_url, over HTTPS with
REQUESTS_CA_BUNDLE pointing at sfemu's CA certificate.
"""
import os

import pytest
import requests
from simple_salesforce import Salesforce

ENV = os.environ


def need(name):
    if name not in ENV:
        pytest.skip(f"{name} not set: run through crates/sfemu/tests/clients/run.sh")
    return ENV[name]


def password_token(login_url, username, password):
    r = requests.post(
        f"{login_url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": need("SFEMU_CLIENT_ID"),
            "client_secret": need("SFEMU_CLIENT_SECRET"),
            "username": username,
            "password": password,
        },
        timeout=10,
    )
    r.raise_for_status()
    return r.json()


def client(login_url, username, password):
    tok = password_token(login_url, username, password)
    return Salesforce(instance_url=tok["instance_url"], session_id=tok["access_token"], version="59.0")


@pytest.fixture(scope="session")
def prod_token():
    return password_token(need("SFEMU_PROD_LOGIN_URL"), need("SFEMU_PROD_USERNAME"), need("SFEMU_PROD_PASSWORD"))


@pytest.fixture()
def sf(prod_token):
    return Salesforce(instance_url=prod_token["instance_url"], session_id=prod_token["access_token"], version="59.0")


@pytest.fixture()
def sandbox_sf():
    return client(need("SFEMU_SANDBOX_LOGIN_URL"), need("SFEMU_SANDBOX_USERNAME"), need("SFEMU_SANDBOX_PASSWORD"))


@pytest.fixture()
def admin():
    base = need("SFEMU_ADMIN_URL")
    org = need("SFEMU_PROD_ORG_ID")

    class Admin:
        def usage(self):
            return requests.get(f"{base}/orgs/{org}/usage", timeout=5).json()

        def reset_usage(self):
            requests.post(f"{base}/orgs/{org}/usage/reset", timeout=5).raise_for_status()

        def set_usage(self, **kw):
            requests.put(f"{base}/orgs/{org}/usage", json=kw, timeout=5).raise_for_status()

    return Admin()
