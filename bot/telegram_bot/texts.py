"""Every string the Telegram bot shows, in English and Vietnamese.

Texts are sent in Telegram's HTML mode but also as button labels and command descriptions,
which are plain text; so none of them contains ``<``, ``>`` or ``&``, and each reads the same
in both modes. Values are inserted as given: callers escape user and article text.
"""

from __future__ import annotations

COMMANDS = ("start", "help", "ask", "articles", "article", "timeline", "follow", "following",
            "unfollow", "about")
"""Everyone's command menu (setMyCommands), in order; their texts are ``cmd_*``."""
ADMIN_COMMANDS = ("add", "reindex", "stats")
"""Added to the menu in the admins' private chats only."""

EN: dict[str, str] = {
    "start": (
        "Hello! I answer questions about security-cooperation news by quoting the articles "
        "I have indexed.\n\n"
        "I know {articles} articles, from {first} to {last}. Ask in English or Vietnamese: "
        "I reply with the passages that answer, each cited with its title, date and source.\n\n"
        "Examples:"
    ),
    "help": (
        "How to ask:\n"
        "• In a private chat, just send your question.\n"
        "• In a group, write /ask followed by your question, mention me, "
        "or reply to one of my messages.\n\n"
        "Commands:\n"
        "/start – introduction and examples\n"
        "/help – this help\n"
        "/ask question – ask a question\n"
        "/articles – list the indexed articles\n"
        "/article N – read article number N\n"
        "/timeline [country or term] – cooperation events, newest first\n"
        "/follow country or term – a message when a new article matches; /following, "
        "/unfollow\n"
        "/about – the index and the model\n"
        "/add URL – add a web page as an article (admins only; or send a .txt, .md or "
        ".html file with the caption /add)\n"
        "/reindex – rebuild the index (admins only)\n"
        "/stats – questions, answers and feedback (admins only)\n\n"
        "Filters: add country:Laos, since:2023-06, until:2023-12 or source:VNA to a "
        "question to ask only those articles."
    ),
    "no_answer": (
        "No passage in the indexed articles answers this. "
        "Try other words, or see /articles for what I know."
    ),
    "more_results": "More results",
    "full_article": "Full article",
    "article_n": "📄 Article {n}",
    "feedback_up": "👍",
    "feedback_down": "👎",
    "feedback_thanks": "Thanks for the feedback!",
    "feedback_why": "Thanks. What was wrong? Pick a reason below.",
    "filter_only": "Only articles {parts}.",
    "alert_head": "New article for “{about}”",
    "follow_usage": "Write what to follow: /follow Cambodia, or /follow extradition.",
    "follows_not_kept": "Alerts cannot be kept here: the bot's state cannot be written.",
    "follow_added": "Following “{about}”: I will message you when a new article matches.",
    "follow_already": "You already follow “{about}”.",
    "follow_too_many": "You follow {limit} things already: /unfollow one first.",
    "following_list": "You follow:\n{queries}\n\n/unfollow … stops one.",
    "following_none": "You follow nothing yet: /follow Cambodia, for example.",
    "unfollow_usage": "Write what to stop following: /unfollow Cambodia. /following lists it.",
    "unfollow_done": "You no longer follow “{about}”.",
    "unfollow_unknown": "You do not follow “{about}”: /following lists what you do.",
    "timeline_head": "Timeline",
    "timeline_about": "Timeline: {about}",
    "timeline_range": "newest first ({first}–{last} of {total})",
    "timeline_empty": "No dated article is about “{about}”. /articles lists what I have.",
    "filter_countries": "about {names}",
    "filter_since": "from {day}",
    "filter_until": "until {day}",
    "filter_source": "from a source named like “{source}”",
    "or": "or",
    "only_country": "Only {country}",
    "only_year": "Only {year}",
    "filter_bad_country": (
        "I could not read a filter of your question: I know no country “{value}”. Write it "
        "in English or Vietnamese, as country:Laos, country:Lào or country:Thai_Lan."),
    "filter_bad_date": (
        "I could not read a filter of your question: the date in {value}. Write a year, a "
        "month or a day, as since:2023, since:2023-06, since:06/2023 or until:15/06/2023."),
    "filter_bad_range": (
        "I could not read a filter of your question: no article can be dated {value}. "
        "Put the earlier date after since: and the later one after until:."),
    "no_filtered_articles": "No article matches these filters.",
    "reason_wrong_article": "Wrong article",
    "reason_not_answered": "Not answered",
    "reason_outdated": "Outdated",
    "expired": "This result has expired, please ask again.",
    "rate_limited": "Too many questions at once. Please wait {seconds} s and try again.",
    "too_long": "Your question is too long: please keep it under {limit} characters.",
    "empty_question": "The question is empty. Please type what you want to know.",
    "ask_usage": "Write your question after /ask, for example: /ask Who signed the agreement?",
    "articles_header": "Indexed articles (page {page}/{pages})",
    "article_not_found": "There is no article number {number}. See /articles for the list.",
    "article_usage": "Send /article N to read article number N of this list.",
    "prev": "« Previous",
    "next": "Next »",
    "about": (
        "Index: {articles} articles, {chunks} passages.\n"
        "Model: {model}\n"
        "Multilingual model (Vietnamese): {multilingual}\n"
        "Built: {built_at}"
    ),
    "none": "none",
    "fill_progress": (
        "Vietnamese search: {percent}% of passages so far; the rest are being filled in."
    ),
    "reindex_not_allowed": "Not allowed: only administrators can rebuild the index.",
    "stats_not_allowed": "Not allowed: only administrators can see the statistics.",
    "stats_not_kept": "No statistics are kept: the bot's state cannot be written here.",
    "stats_head": "The last {days} days",
    "stats_none": "No questions yet.",
    "stats_questions": (
        "Questions: {asked}, {share} answered, median {median} ms (95% under {p95} ms)"),
    "stats_languages": "Languages: {languages}",
    "stats_votes": "Feedback: 👍 {up} · 👎 {down}",
    "stats_reasons": (
        "👎 why: wrong article {wrong_article}, not answered {not_answered}, "
        "outdated {outdated}"),
    "stats_per_day": "Per day (asked / answered):",
    "stats_unanswered": "Asked most, not answered (articles to add):",
    "reindex_busy": "A rebuild is already running; please wait for it to finish.",
    "reindex_started": "Rebuilding the index… I keep answering from the current one meanwhile.",
    "reindex_progress": "Rebuilding: {done}/{total} passages embedded.",
    "reindex_done": (
        "Index rebuilt in {seconds} s (added: {added}, removed: {removed}): "
        "{articles} articles, {chunks} passages."
    ),
    "reindex_unchanged": (
        "Nothing to rebuild: the index is up to date ({articles} articles, {chunks} passages)."
    ),
    "reindex_failed": "Rebuilding failed: {error}\nThe previous index keeps answering.",
    "error_apology": "Sorry, something went wrong. Please try again.",
    "searched_instead": "Searched for {pairs}.",
    "correction_pair": "“{searched}” instead of “{typed}”",
    "results_page": "Results {first}–{last} of {total}",
    "no_date": "no date",
    "byline": "By {name}",
    "about_previous": "About: {title}",
    "example_period": "What happened in {month}?",
    "example_article": "What do the articles say about “{title}”?",
    "fact_byline": "Written by {value}.",
    "fact_no_byline": "The article names no author.",
    "fact_date": "Published {value}.",
    "fact_no_date": "The article gives no date.",
    "fact_source": "Reported by {value}.",
    "fact_no_source": "The article names no source.",
    "fact_place": "Filed from {value}.",
    "fact_no_place": "The article gives no place.",
    "period_header": "Articles dated {first} to {last}, newest first:",
    "feedback_not_stored": "Thank you! Your vote could not be saved just now.",
    "related_articles": "Related articles (they may not answer this):",
    "closest_articles": "Closest articles (they do not answer this):",
    "missing": "None of the {count} articles mentions {terms}.",
    "missing_or": " or ",
    "original_link": "Original article",
    "inline_no_results": "No passage answers this",
    "unknown_command": "I don't know the command {command}. /help lists what I can do.",
    "other_language_excerpts": (
        "The excerpts below are quoted in Vietnamese, as the articles were written."
    ),
    "greeting": (
        "Hello! Ask me anything about the {articles} indexed articles on security and "
        "law-enforcement cooperation, in English or Vietnamese. /help shows how."
    ),
    "cmd_start": "Introduction and examples",
    "cmd_help": "How to ask, and the commands",
    "cmd_ask": "Ask a question (in groups)",
    "cmd_articles": "List the indexed articles",
    "cmd_article": "Read an article: /article N",
    "cmd_about": "About the index and the model",
    "add_usage": (
        "Send /add followed by the address of a web page, or send a .txt, .md or .html file "
        "with the caption /add."
    ),
    "add_not_allowed": "Not allowed: only administrators can add articles.",
    "add_private_only": "Please send /add to me in a private chat.",
    "add_bad_document": "I can add only {suffixes} files.",
    "add_too_large": "The file is too large: articles up to {mb} MB can be added.",
    "add_started": "Adding… I keep answering from the current index meanwhile.",
    "add_done": "Added “{title}” ({date}): now searchable, {passages} passages.",
    "add_refused": "Not added ({source}): {reason}",
    "add_failed": "Adding failed: {error}\nThe index is unchanged.",
    "cmd_add": "Add an article from a web page (admins only)",
    "cmd_reindex": "Rebuild the index (admins only)",
    "cmd_timeline": "Cooperation events, newest first (/timeline Laos)",
    "cmd_follow": "Get a message when a new article matches (/follow Cambodia)",
    "cmd_following": "What you follow",
    "cmd_unfollow": "Stop following (/unfollow Cambodia)",
    "cmd_stats": "Questions, answers and feedback (admins only)",
}

VI: dict[str, str] = {
    "start": (
        "Xin chào! Tôi trả lời câu hỏi về tin tức hợp tác an ninh bằng cách trích dẫn "
        "các bài báo tôi đang lưu giữ.\n\n"
        "Tôi có {articles} bài báo, từ {first} đến {last}. Hãy hỏi bằng tiếng Việt hoặc "
        "tiếng Anh: tôi sẽ trả lời bằng các đoạn trích liên quan, kèm tiêu đề, ngày "
        "và nguồn của bài.\n\n"
        "Ví dụ:"
    ),
    "help": (
        "Cách đặt câu hỏi:\n"
        "• Trong trò chuyện riêng, bạn chỉ cần gửi câu hỏi.\n"
        "• Trong nhóm, hãy viết /ask kèm câu hỏi, nhắc đến tôi, "
        "hoặc trả lời một tin nhắn của tôi.\n\n"
        "Các lệnh:\n"
        "/start – giới thiệu và ví dụ\n"
        "/help – hướng dẫn này\n"
        "/ask câu hỏi – đặt câu hỏi\n"
        "/articles – danh sách các bài báo hiện có\n"
        "/article N – đọc bài báo số N\n"
        "/timeline [nước hoặc từ khoá] – các sự kiện hợp tác, mới nhất trước\n"
        "/follow nước hoặc từ khoá – nhận tin khi có bài mới phù hợp; /following, "
        "/unfollow\n"
        "/about – thông tin về kho bài báo và mô hình\n"
        "/add URL – thêm trang web làm bài báo (chỉ quản trị viên; hoặc gửi tệp .txt, .md, "
        ".html với chú thích /add)\n"
        "/reindex – lập lại chỉ mục (chỉ quản trị viên)\n"
        "/stats – câu hỏi, câu trả lời và đánh giá (chỉ quản trị viên)\n\n"
        "Bộ lọc: thêm nước:Lào, từ:06/2023, đến:12/2023 hoặc nguồn:VNA vào câu hỏi để chỉ "
        "hỏi các bài đó."
    ),
    "no_answer": (
        "Không có đoạn nào trong các bài báo hiện có trả lời được câu hỏi này. "
        "Hãy thử diễn đạt khác, hoặc xem /articles để biết tôi có những bài nào."
    ),
    "more_results": "Thêm kết quả",
    "full_article": "Đọc toàn bài",
    "article_n": "📄 Bài {n}",
    "feedback_up": "👍",
    "feedback_down": "👎",
    "feedback_thanks": "Cảm ơn bạn đã góp ý!",
    "feedback_why": "Cảm ơn bạn. Câu trả lời chưa ổn ở đâu? Hãy chọn lý do bên dưới.",
    "filter_only": "Chỉ các bài {parts}.",
    "alert_head": "Bài mới về “{about}”",
    "follow_usage": "Hãy ghi chủ đề cần theo dõi: /follow Campuchia, hoặc /follow dẫn độ.",
    "follows_not_kept": "Không lưu được chủ đề theo dõi: bot không ghi được dữ liệu ở đây.",
    "follow_added": "Đang theo dõi “{about}”: tôi sẽ nhắn bạn khi có bài mới phù hợp.",
    "follow_already": "Bạn đã theo dõi “{about}” rồi.",
    "follow_too_many": "Bạn đã theo dõi {limit} chủ đề: hãy /unfollow bớt một chủ đề trước.",
    "following_list": "Bạn đang theo dõi:\n{queries}\n\n/unfollow … để ngừng một chủ đề.",
    "following_none": "Bạn chưa theo dõi chủ đề nào: ví dụ /follow Campuchia.",
    "unfollow_usage": "Hãy ghi chủ đề cần ngừng theo dõi: /unfollow Campuchia. /following liệt kê.",
    "unfollow_done": "Bạn đã ngừng theo dõi “{about}”.",
    "unfollow_unknown": "Bạn không theo dõi “{about}”: /following liệt kê các chủ đề của bạn.",
    "timeline_head": "Dòng thời gian",
    "timeline_about": "Dòng thời gian: {about}",
    "timeline_range": "mới nhất trước ({first}–{last} trong {total})",
    "timeline_empty": (
        "Không có bài báo có ngày nào về “{about}”. /articles liệt kê các bài tôi có."),
    "filter_countries": "về {names}",
    "filter_since": "từ {day}",
    "filter_until": "đến {day}",
    "filter_source": "của nguồn có tên như “{source}”",
    "or": "hoặc",
    "only_country": "Chỉ {country}",
    "only_year": "Chỉ năm {year}",
    "filter_bad_country": (
        "Tôi không đọc được bộ lọc trong câu hỏi của bạn: không có nước nào tên “{value}”. "
        "Hãy viết bằng tiếng Anh hoặc tiếng Việt, như nước:Lào, nước:Thái_Lan hoặc country:Laos."),
    "filter_bad_date": (
        "Tôi không đọc được bộ lọc trong câu hỏi của bạn: ngày trong {value}. Hãy viết năm, "
        "tháng hoặc ngày, như từ:2023, từ:06/2023, từ:2023-06 hoặc đến:15/06/2023."),
    "filter_bad_range": (
        "Tôi không đọc được bộ lọc trong câu hỏi của bạn: không bài nào có thể có ngày {value}. "
        "Hãy ghi ngày sớm hơn sau từ: và ngày muộn hơn sau đến:."),
    "no_filtered_articles": "Không có bài báo nào khớp với các bộ lọc này.",
    "reason_wrong_article": "Sai bài báo",
    "reason_not_answered": "Chưa trả lời câu hỏi",
    "reason_outdated": "Thông tin đã cũ",
    "expired": "Kết quả này đã hết hạn, vui lòng hỏi lại.",
    "rate_limited": "Bạn hỏi quá nhanh. Vui lòng đợi {seconds} giây rồi thử lại.",
    "too_long": "Câu hỏi quá dài: vui lòng viết dưới {limit} ký tự.",
    "empty_question": "Câu hỏi đang trống. Hãy nhập điều bạn muốn biết.",
    "ask_usage": "Hãy viết câu hỏi sau /ask, ví dụ: /ask Ai đã ký thỏa thuận?",
    "articles_header": "Các bài báo hiện có (trang {page}/{pages})",
    "article_not_found": "Không có bài báo số {number}. Xem danh sách tại /articles.",
    "article_usage": "Gửi /article N để đọc bài báo số N trong danh sách này.",
    "prev": "« Trước",
    "next": "Sau »",
    "about": (
        "Kho dữ liệu: {articles} bài báo, {chunks} đoạn văn.\n"
        "Mô hình: {model}\n"
        "Mô hình đa ngôn ngữ (tiếng Việt): {multilingual}\n"
        "Cập nhật lúc: {built_at}"
    ),
    "none": "không có",
    "fill_progress": (
        "Tìm kiếm tiếng Việt: đã có {percent}% đoạn văn; phần còn lại đang được bổ sung."
    ),
    "reindex_not_allowed": "Không được phép: chỉ quản trị viên mới có thể lập lại chỉ mục.",
    "stats_not_allowed": "Không được phép: chỉ quản trị viên mới xem được thống kê.",
    "stats_not_kept": "Không có thống kê: bot không ghi được dữ liệu ở đây.",
    "stats_head": "{days} ngày qua",
    "stats_none": "Chưa có câu hỏi nào.",
    "stats_questions": (
        "Câu hỏi: {asked}, trả lời được {share}, trung vị {median} ms (95% dưới {p95} ms)"),
    "stats_languages": "Ngôn ngữ: {languages}",
    "stats_votes": "Đánh giá: 👍 {up} · 👎 {down}",
    "stats_reasons": (
        "Lý do 👎: sai bài báo {wrong_article}, chưa trả lời {not_answered}, "
        "thông tin cũ {outdated}"),
    "stats_per_day": "Theo ngày (hỏi / trả lời được):",
    "stats_unanswered": "Hỏi nhiều nhất mà chưa trả lời được (nên bổ sung bài):",
    "reindex_busy": "Việc lập lại chỉ mục đang chạy; vui lòng đợi đến khi hoàn tất.",
    "reindex_started": (
        "Đang lập lại chỉ mục… Trong lúc đó tôi vẫn trả lời bằng chỉ mục hiện tại."
    ),
    "reindex_progress": "Đang lập chỉ mục: đã xử lý {done}/{total} đoạn văn.",
    "reindex_done": (
        "Đã lập lại chỉ mục trong {seconds} giây: thêm {added} bài, bớt {removed} bài; "
        "hiện có {articles} bài báo, {chunks} đoạn văn."
    ),
    "reindex_unchanged": (
        "Không có gì cần lập lại: chỉ mục đã cập nhật đầy đủ ({articles} bài báo, "
        "{chunks} đoạn văn)."
    ),
    "reindex_failed": "Lập lại chỉ mục thất bại: {error}\nChỉ mục cũ vẫn tiếp tục trả lời.",
    "error_apology": "Xin lỗi, đã có lỗi xảy ra. Vui lòng thử lại.",
    "searched_instead": "Đã tìm {pairs}.",
    "correction_pair": "“{searched}” thay cho “{typed}”",
    "results_page": "Kết quả {first}–{last} trong số {total}",
    "no_date": "không rõ ngày",
    "byline": "Tác giả: {name}",
    "about_previous": "Về: {title}",
    "example_period": "Có tin gì trong tháng {month}?",
    "example_article": "Các bài báo nói gì về “{title}”?",
    "fact_byline": "Bài do {value} viết.",
    "fact_no_byline": "Bài báo không ghi tên tác giả.",
    "fact_date": "Bài đăng ngày {value}.",
    "fact_no_date": "Bài báo không ghi ngày đăng.",
    "fact_source": "Bài do {value} đưa tin.",
    "fact_no_source": "Bài báo không ghi nguồn.",
    "fact_place": "Bài đưa tin từ {value}.",
    "fact_no_place": "Bài báo không ghi nơi đưa tin.",
    "period_header": "Các bài báo từ {first} đến {last}, mới nhất trước:",
    "feedback_not_stored": "Cảm ơn bạn! Hiện chưa lưu được phiếu đánh giá của bạn.",
    "related_articles": "Bài liên quan (có thể không trả lời câu hỏi này):",
    "closest_articles": "Các bài gần nhất (không trả lời câu hỏi này):",
    "missing": "Không bài nào trong {count} bài báo nhắc đến {terms}.",
    "missing_or": " hay ",
    "original_link": "Bài gốc",
    "inline_no_results": "Không có đoạn nào trả lời câu hỏi này",
    "unknown_command": "Tôi không hiểu lệnh {command}. Gõ /help để xem các lệnh.",
    "other_language_excerpts": "Các đoạn trích dưới đây là nguyên văn tiếng Anh của bài báo.",
    "greeting": (
        "Xin chào! Bạn có thể hỏi tôi về {articles} bài báo về hợp tác an ninh và thực thi "
        "pháp luật, bằng tiếng Việt hoặc tiếng Anh. Gõ /help để xem hướng dẫn."
    ),
    "cmd_start": "Giới thiệu và ví dụ",
    "cmd_help": "Cách đặt câu hỏi và các lệnh",
    "cmd_ask": "Đặt câu hỏi (trong nhóm)",
    "cmd_articles": "Danh sách các bài báo hiện có",
    "cmd_article": "Đọc một bài báo: /article N",
    "cmd_about": "Về kho bài báo và mô hình",
    "add_usage": (
        "Gửi /add kèm địa chỉ trang web, hoặc gửi tệp .txt, .md hay .html với chú thích /add."
    ),
    "add_not_allowed": "Không được phép: chỉ quản trị viên mới có thể thêm bài báo.",
    "add_private_only": "Vui lòng gửi /add cho tôi trong cuộc trò chuyện riêng.",
    "add_bad_document": "Tôi chỉ thêm được các tệp {suffixes}.",
    "add_too_large": "Tệp quá lớn: chỉ thêm được bài báo tối đa {mb} MB.",
    "add_started": "Đang thêm… Trong lúc đó tôi vẫn trả lời bằng chỉ mục hiện tại.",
    "add_done": "Đã thêm “{title}” ({date}): có thể tìm kiếm ngay, {passages} đoạn văn.",
    "add_refused": "Không thêm ({source}): {reason}",
    "add_failed": "Thêm bài thất bại: {error}\nChỉ mục không thay đổi.",
    "cmd_add": "Thêm bài báo từ trang web (chỉ quản trị viên)",
    "cmd_reindex": "Lập lại chỉ mục (chỉ quản trị viên)",
    "cmd_timeline": "Các sự kiện hợp tác, mới nhất trước (/timeline Lào)",
    "cmd_follow": "Nhận tin khi có bài mới phù hợp (/follow Campuchia)",
    "cmd_following": "Những chủ đề bạn đang theo dõi",
    "cmd_unfollow": "Ngừng theo dõi (/unfollow Campuchia)",
    "cmd_stats": "Câu hỏi, câu trả lời và đánh giá (chỉ quản trị viên)",
}

TEXTS: dict[str, dict[str, str]] = {"en": EN, "vi": VI}


def language(lang: str | None) -> str:
    """"vi" for Vietnamese language tags ("vi", "vi-VN"), else "en"."""
    return "vi" if (lang or "").replace("_", "-").split("-")[0].lower() == "vi" else "en"


def t(key: str, lang: str, **values: object) -> str:
    """The text ``key`` in ``lang``, with ``values`` filled in by ``str.format``.

    Args:
        key: a key of ``EN``; an unknown key raises KeyError.
        lang: "vi" (or a "vi-…" tag) for Vietnamese; anything else gives English.
        **values: inserted as given, so callers escape what will be read as HTML.
    """
    return TEXTS[language(lang)][key].format(**values)
