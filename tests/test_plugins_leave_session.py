"""Both plugins in a user's own project leave it as they found it: the user's `dev` Hypothesis
profile stays registered and loaded, `requests` stays unpatched, the collection order stays the
user's, under `filterwarnings = error` and `-p no:randomly`; `-p no:NAME` keeps each plugin out."""

from __future__ import annotations

import pytest

CONTRACT = ("-p", "mock_kling.contract.plugin")
NO_RANDOM = ("-p", "no:randomly", "-p", "no:cacheprovider")

USER_CONFTEST = """
import requests
from hypothesis import settings

settings.register_profile("dev", max_examples=7)
settings.register_profile("ci", max_examples=11)
settings.load_profile("dev")

ORIGINAL_GET_ADAPTER = requests.Session.get_adapter
ORDER = []


def pytest_runtest_setup(item):
    ORDER.append(item.name)
"""

USER_TESTS = """
import pytest
import requests
from hypothesis import given, settings, strategies as st

import conftest

RAN = []


def test_z_first_in_the_file(kit):
    pass


@pytest.mark.cost(5)
def test_m_costly_second():
    pass


@pytest.mark.cost(0)
def test_a_free_third():
    pass


def test_in_process_fake_through_its_own_session(kling_inprocess):
    assert requests.Session.get_adapter is conftest.ORIGINAL_GET_ADAPTER
    plain = requests.Session().get_adapter(kling_inprocess.api_url)
    assert type(plain) is requests.adapters.HTTPAdapter  # not the in-process adapter
    session = kling_inprocess.requests_session()
    answer = session.get(kling_inprocess.api_url, headers=kling_inprocess.headers())
    assert answer.json()["code"] == 0


@given(st.integers())
def test_my_profile_is_still_loaded(n):
    RAN.append(n)


def test_my_profiles_are_mine():
    assert len(RAN) == 7  # the dev profile ran the property above 7 times
    assert settings.default.max_examples == 7
    assert settings.get_profile("dev").max_examples == 7
    assert settings.get_profile("ci").max_examples == 11


def test_zz_order_kept():
    assert conftest.ORDER[:4] == [
        "test_z_first_in_the_file",
        "test_m_costly_second",
        "test_a_free_third",
        "test_in_process_fake_through_its_own_session",
    ]
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    pytester.makeconftest(USER_CONFTEST)
    pytester.makepyfile(test_mine=USER_TESTS)
    return pytester


@pytest.mark.slow
def test_a_users_project_is_left_as_it_was(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(*CONTRACT, *NO_RANDOM, "-v")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["*test_z_first_in_the_file*", "*test_m_costly_second*"])


@pytest.mark.slow
def test_the_suite_profiles_are_registered_only_with_the_contract_plugin(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    pytester.makepyfile(
        test_profiles="""
        import pytest
        from hypothesis import settings
        from hypothesis.errors import InvalidArgument

        def test_registered(request):
            if request.config.pluginmanager.has_plugin("mock_kling.contract.plugin"):
                assert settings.get_profile("mock-kling-dev").max_examples == 20
            else:
                with pytest.raises(InvalidArgument):
                    settings.get_profile("mock-kling-dev")
            assert settings.default.max_examples == settings.get_profile("default").max_examples
        """
    )
    pytester.runpytest_subprocess(*NO_RANDOM).assert_outcomes(passed=1)
    pytester.runpytest_subprocess(*CONTRACT, *NO_RANDOM).assert_outcomes(passed=1)
    blocked = pytester.runpytest_subprocess(*NO_RANDOM, "-p", "no:mock_kling.contract.plugin")
    blocked.assert_outcomes(passed=1)


@pytest.mark.slow
def test_no_name_disables_each_plugin_cleanly(project: pytest.Pytester) -> None:
    markers = project.runpytest_subprocess(*NO_RANDOM, "--markers")
    assert "@pytest.mark.kling(" in markers.stdout.str()
    without = project.runpytest_subprocess(*NO_RANDOM, "-p", "no:mock_kling", "--markers")
    assert without.ret == 0
    assert "@pytest.mark.kling(" not in without.stdout.str()
    # A project listing the contract plugin in its conftest, run with it blocked.
    project.makeconftest(USER_CONFTEST + '\npytest_plugins = ["mock_kling.contract.plugin"]\n')
    blocked = project.runpytest_subprocess(
        *NO_RANDOM, "-p", "no:mock_kling.contract.plugin", "-p", "no:mock_kling", "--markers"
    )
    assert blocked.ret == 0, blocked.stderr.str()
    assert "@pytest.mark.cost(" not in blocked.stdout.str()
    assert (
        "--kling-base-url"
        not in project.runpytest_subprocess(
            *NO_RANDOM, "-p", "no:mock_kling.contract.plugin", "--help"
        ).stdout.str()
    )
