"""The customer web chat and the agent console in headless chromium, against the real system.

(a) the customer greets the bot and uses its quick-reply buttons;
(b) a delayed order goes to a person: the customer waits with a position, Olivia logs in,
    sees the chat waiting (the time ticks), claims it, reads the screen pop, and they talk, each
    seeing the other type; Olivia resolves, the bot welcomes the customer back and asks for a
    rating, which the customer gives;
(c) reloading the customer's page shows the same conversation;
(d) of two agents claiming one chat, the second is told someone was faster;
(e) with nobody of the team online, the customer is offered the choice and leaves a message.
Screenshots of every step: test-artifacts/browser/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Actor, DeskStack

pytestmark = pytest.mark.e2e

OLIVIA = "Olivia (Orders)"


def open_chat(customer: Actor, system: DeskStack) -> Any:
    page = customer.page
    page.goto(f"{system.desk_url}/chat")
    expect(page.locator("#connection")).to_have_text("Connected")
    expect(page.locator("#message")).to_be_enabled()
    return page


def say(page: Any, text: str) -> None:
    page.locator("#message").fill(text)
    page.locator("#message").press("Enter")
    expect(page.locator("li.msg-customer").last).to_contain_text(text)


def bot_says(page: Any, text: str | re.Pattern[str]) -> Any:
    message = page.locator("li.msg-bot", has_text=text).last
    expect(message).to_be_visible()
    return message


def test_the_customer_chats_with_the_bot_and_uses_quick_replies(
    desk_stack: DeskStack, actors: Any
) -> None:
    customer = actors("customer-a")
    page = open_chat(customer, desk_stack)
    customer.shot("a1-chat-opened")

    say(page, "hi")
    greeting = bot_says(page, "I'm the support assistant")
    buttons = greeting.locator(".quick-replies button")
    expect(buttons).to_have_text(
        ["Where is my order?", "I have an error code", "Apply for a mortgage"]
    )
    customer.shot("a2-greeting-with-quick-replies")

    buttons.first.click()
    expect(page.locator("li.msg-customer").last).to_have_text(re.compile("Where is my order"))
    bot_says(page, "order number")
    expect(greeting.locator(".quick-replies")).to_have_count(0)  # answered: they go
    customer.shot("a3-quick-reply-clicked")
    assert customer.errors == []


def test_a_person_takes_over_and_gives_the_chat_back(desk_stack: DeskStack, actors: Any) -> None:
    # Olivia logs in; her console is open (she is online) while the queue is empty.
    agent = actors("agent-olivia")
    console = agent.page
    console.goto(f"{desk_stack.desk_url}/console")
    expect(console).to_have_url(re.compile(r"/login$"))
    agent.shot("b01-login-page")
    console.locator("#username").fill("olivia")
    console.locator("#password").fill(desk_stack.password)
    console.locator("#login-button").click()
    expect(console).to_have_url(re.compile(r"/console$"))
    expect(console.locator("#me")).to_have_text(OLIVIA)
    expect(console.locator("#live-status")).to_have_text("Live")

    # The customer: a delayed order goes to the order support team; they wait with a position.
    customer = actors("customer-b")
    chat = open_chat(customer, desk_stack)
    say(chat, "where is my order ORD-100005?")
    bot_says(chat, "order support team")
    banner = chat.locator("#handoff")
    expect(banner).to_contain_text("You're number 1 in the queue for Order Support")
    expect(banner).to_contain_text("Estimated wait")
    customer.shot("b02-customer-waiting")

    # The chat appears in Olivia's console by itself, its waiting time ticking.
    waiting = console.locator("li[data-handoff-id]", has_text="ORD-100005")
    expect(waiting).to_have_count(1)
    expect(waiting.locator(".reason")).to_have_text("Order delayed")
    expect(waiting.locator(".priority")).to_contain_text("Priority:")
    expect(waiting.locator(".sentiment")).to_contain_text("Mood:")
    clock = waiting.locator(".wait-time")
    first = clock.inner_text()
    expect(clock).not_to_have_text(first, timeout=5000)  # it ticks client-side every second
    agent.shot("b03-console-queue")

    # Olivia claims it: the screen pop with the order record and the transcript with intents.
    waiting.locator("button[data-action=claim]").click()
    pop = console.locator("#handoff")
    expect(pop).to_be_visible()
    expect(pop).to_have_attribute("data-status", "claimed")
    order = console.locator("table[data-evidence=order]")
    expect(order).to_contain_text("ORD-100005")
    expect(order).to_contain_text("delayed")
    expect(console.locator("#h-trigger")).to_contain_text("order_delayed")
    transcript = console.locator("#h-transcript")
    expect(transcript).to_contain_text("where is my order ORD-100005?")
    expect(transcript).to_contain_text("intent ")
    expect(console.locator("#h-slots")).to_contain_text("order_number")
    expect(console.locator("#mine")).to_contain_text("Order delayed")
    handoff_id = pop.get_attribute("data-handoff-id")
    agent.shot("b04-console-screen-pop")

    # The customer sees that Olivia joined.
    expect(banner).to_contain_text(f"You're chatting with {OLIVIA}")
    expect(chat.locator("li.msg-system").last).to_have_text(
        re.compile(re.escape(f"{OLIVIA} joined the chat"))
    )
    customer.shot("b05-customer-agent-joined")

    # Olivia types: the customer sees it; her message arrives on the customer's page.
    reply = console.locator("#reply")
    reply.press_sequentially("Hi, I'm Olivia. I'm chasing the carrier", delay=20)
    expect(chat.locator("#agent-typing")).to_have_text(f"{OLIVIA} is typing…")
    customer.shot("b06-customer-sees-agent-typing")
    reply.press("Enter")
    agent_turn = chat.locator("li.msg-agent").last
    # Her name is the sender, once: the "<name>: " the channel writes into the text for stock
    # widgets is not shown again.
    expect(agent_turn.locator(".msg-text")).to_have_text("Hi, I'm Olivia. I'm chasing the carrier")
    expect(agent_turn.locator(".msg-sender")).to_have_text(OLIVIA)
    expect(chat.locator("#agent-typing")).to_be_hidden()
    expect(console.locator("#live-messages")).to_contain_text("I'm chasing the carrier")
    # The desk also said the place and the join as plain bot messages (for stock widgets), both
    # before her message: this page shows them as the banner and one notice, not twice.
    messages = chat.locator("#messages li")
    expect(messages.filter(has_text="in the queue for")).to_have_count(0)
    expect(messages.filter(has_text="joined the chat")).to_have_count(1)
    customer.shot("b07-customer-gets-agent-message")

    # The customer types: Olivia sees it; the customer's reply appears in the console.
    message = chat.locator("#message")
    message.press_sequentially("thanks, will it come today?", delay=20)
    expect(console.locator("#customer-typing")).to_be_visible()
    agent.shot("b08-console-sees-customer-typing")
    message.press("Enter")
    customer_turn = console.locator("#live-messages li[data-role=customer]").last
    expect(customer_turn).to_contain_text("thanks, will it come today?")
    agent.shot("b09-console-gets-customer-message")

    # Olivia reloads the console (storage cleared too): her chats and the conversation come
    # back from the desk and Rasa, not from the browser.
    console.evaluate("window.sessionStorage.clear(); window.localStorage.clear()")
    console.reload()
    expect(console.locator("#live-status")).to_have_text("Live")
    console.locator("#mine button", has_text="Order delayed").click()
    live = console.locator("#live-messages")
    expect(live).to_contain_text("I'm chasing the carrier")
    expect(
        live.locator("li[data-role=customer]", has_text="thanks, will it come today?")
    ).to_have_count(1)
    agent.shot("b09b-console-reloaded")

    # A private note.
    console.locator("#note").fill("Carrier says tomorrow before noon.")
    console.locator("#note-form button[type=submit]").click()
    expect(console.locator("#notes")).to_contain_text("Carrier says tomorrow before noon.")

    # Olivia resolves: the customer is back with the bot, welcomed and asked for a rating.
    console.locator("#disposition").select_option("resolved")
    console.locator("#add-slot").click()
    console.locator("#slot-rows .slot-name").fill("order_lookup_failures")
    console.locator("#slot-rows .slot-value").fill("0")
    agent.shot("b10-console-before-resolve")
    console.locator("#resolve-form button[type=submit]").click()
    expect(console.locator("#flash")).to_contain_text("The bot has the conversation again")
    expect(pop).to_have_attribute("data-status", re.compile("resolved|handed_back"))
    expect(console.locator("#reply-form")).to_be_hidden()  # handed back: nothing to answer
    expect(console.locator("#live-messages")).to_contain_text("thanks, will it come today?")
    agent.shot("b11-console-resolved")

    expect(chat.locator("li.msg-system", has_text=f"{OLIVIA} left the chat")).to_be_visible()
    bot_says(chat, "Welcome back")
    # "Olivia has left the chat." came as a bot message before the welcome: shown once.
    expect(chat.locator("#messages li").filter(has_text="left the chat")).to_have_count(1)
    rating = bot_says(chat, "from 1 (poor) to 5 (excellent)")
    expect(chat.locator("li.msg-system", has_text="back with the assistant")).to_be_visible()
    expect(banner).to_be_hidden()
    customer.shot("b12-customer-back-with-bot")

    rating.locator(".quick-replies button", has_text="5").click()
    bot_says(chat, "Anything you'd like to add?")
    say(chat, "Olivia was great")
    bot_says(chat, "Thank you for your feedback")
    customer.shot("b13-customer-rated")

    answer = agent.context.request.get(f"{desk_stack.desk_url}/api/handoffs/{handoff_id}")
    handoff = answer.json()["handoff"]
    assert (handoff["status"], handoff["csat_rating"], handoff["csat_comment"]) == (
        "handed_back",
        5,
        "Olivia was great",
    )

    # (c) A reload shows the same conversation: the bot's, the agent's and the customer's turns.
    chat.reload()
    expect(chat.locator("#connection")).to_have_text("Connected")
    history = chat.locator("#messages")
    expect(history).to_contain_text("where is my order ORD-100005?")
    expect(chat.locator("li.msg-agent.msg-history .msg-text")).to_have_text(
        "Hi, I'm Olivia. I'm chasing the carrier"
    )
    expect(chat.locator("li.msg-agent.msg-history .msg-sender")).to_have_text(OLIVIA)
    expect(history).to_contain_text("thanks, will it come today?")
    expect(history).to_contain_text("Thank you for your feedback")
    expect(chat.locator("li.msg-customer", has_text=re.compile(r"^You: 5$"))).to_have_count(1)
    customer.shot("c1-customer-reloaded-history")
    chat.set_viewport_size({"width": 390, "height": 844})  # a phone
    customer.shot("c2-customer-history-on-a-phone")
    console.set_viewport_size({"width": 390, "height": 844})
    agent.shot("c3-console-on-a-phone")

    say(chat, "hi")  # the same conversation goes on after the reload
    bot_says(chat, "I'm the support assistant")
    assert customer.errors == []
    assert agent.errors == []


def test_with_nobody_online_the_customer_leaves_a_message_instead(
    desk_stack: DeskStack, actors: Any
) -> None:
    # Nobody serving mortgage_advisors is logged in (this runs before the supervisor, who
    # serves every queue, logs in below).
    customer = actors("customer-e")
    chat = open_chat(customer, desk_stack)
    say(chat, "should I go fixed or variable for my mortgage?")
    bot_says(chat, "mortgage advisors")
    offer = bot_says(chat, "Nobody from Mortgage Advisors is online right now")
    expect(chat.locator("#handoff")).to_contain_text("Nobody from the team is online right now")
    choices = offer.locator(".quick-replies button")
    expect(choices).to_have_text(["Keep waiting", "Leave a message"])
    customer.shot("e1-customer-offered-the-choice")

    choices.nth(1).click()
    bot_says(chat, "Please leave your message")
    expect(chat.locator("li.msg-system", has_text="back with the assistant")).to_be_visible()
    expect(chat.locator("#handoff")).to_be_hidden()
    say(chat, "Please call me on Friday morning")
    bot_says(chat, "your message is with the team")
    customer.shot("e2-customer-left-a-message")

    sender = chat.evaluate("window.localStorage.getItem('support-chat.session-id')")
    (handoff,) = desk_stack.handoffs_of(sender)
    assert (handoff.status, handoff.callback_message) == (
        "expired",
        "Please call me on Friday morning",
    )
    assert customer.errors == []


def test_the_second_agent_to_claim_is_told_someone_was_faster(
    desk_stack: DeskStack, actors: Any
) -> None:
    agents = []
    for username in ("gus", "sam"):
        agent = actors(f"agent-{username}")
        agent.page.goto(f"{desk_stack.desk_url}/login")
        agent.page.locator("#username").fill(username)
        agent.page.locator("#password").fill(desk_stack.password)
        agent.page.locator("#login-button").click()
        expect(agent.page).to_have_url(re.compile(r"/console$"))
        agents.append(agent)
    gus, sam = agents

    customer = actors("customer-d")
    chat = open_chat(customer, desk_stack)
    say(chat, "I want to talk to a human")
    expect(chat.locator("#handoff")).to_contain_text("in the queue")
    expect(sam.page.locator("#me")).to_contain_text("supervisor (all queues)")
    for agent in agents:
        expect(agent.page.locator("li[data-handoff-id] button[data-action=claim]")).to_have_count(1)

    # Both see the same waiting chat; Gus claims first, Sam's click comes too late.
    sam_claim = sam.page.locator("li[data-handoff-id] button[data-action=claim]")
    sam.page.route("**/api/queues", lambda route: route.abort())  # keep Sam's stale view
    gus.page.locator("li[data-handoff-id] button[data-action=claim]").click()
    expect(gus.page.locator("#handoff")).to_have_attribute("data-status", "claimed")
    sam_claim.click()
    expect(sam.page.locator("#flash")).to_contain_text("Someone else claimed this chat first")
    expect(sam.page.locator("#reply-form")).to_be_hidden()
    sam.shot("d1-claim-lost")
    expect(chat.locator("#handoff")).to_contain_text("You're chatting with Gus")


def test_a_message_the_server_drops_for_speed_is_marked_and_given_back(
    desk_stack: DeskStack, actors: Any
) -> None:
    """A page (or a script in it) that sends far more messages at once than one connection's
    allowance: the server drops the excess (assistant/channels/rate_limit.py) and the page says
    so, marks the last message "not sent" and puts its words back in the box."""
    customer = actors("customer-flood")
    page = open_chat(customer, desk_stack)

    page.evaluate(
        """() => {
          const form = document.querySelector('form');
          const input = document.querySelector('#message');
          for (let i = 1; i <= 40; i++) {
            input.value = 'flood message ' + i;
            form.requestSubmit();
          }
        }"""
    )

    unsent = page.locator("li.msg-customer.msg-unsent")
    expect(unsent).to_have_count(1)
    expect(unsent).to_contain_text("flood message 40")
    expect(unsent).to_contain_text("(not sent)")
    expect(page.locator("#message")).to_have_value("flood message 40")
    expect(page.locator("#error")).to_contain_text("too fast")
    customer.shot("f1-message-dropped-for-speed")
    # The first messages were within the allowance and are answered as usual.
    expect(page.locator("li.msg-bot").first).to_be_visible()
