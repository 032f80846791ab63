"""The workbench's inbox (staff), mounted at /workbench/messages/; and the staff chat (工作群)
and work instructions (一键触达) under it."""

from django.urls import path

from yiwang.messaging import views

app_name = "messaging_workbench"
FRONT = {"front": "workbench"}
urlpatterns = [
    path("", views.inbox, FRONT, name="inbox"),
    path("preferences/", views.preferences, FRONT, name="preferences"),
    path("read-all/", views.mark_all_read, FRONT, name="read_all"),
    path("<int:message_id>/read/", views.mark_read, FRONT, name="read"),
    # staff chat
    path("chat/", views.chat_list, name="chat"),
    path("chat/new/", views.chat_new, name="chat_new"),
    path("chat/<int:group_id>/", views.chat_room, name="chat_room"),
    path("chat/<int:group_id>/poll/", views.chat_poll, name="chat_poll"),
    path("chat/<int:group_id>/send/", views.chat_send, name="chat_send"),
    path("chat/<int:group_id>/members/", views.chat_members, name="chat_members"),
    path("chat/files/<int:chat_message_id>/", views.chat_attachment, name="chat_attachment"),
    path("chat/messages/<int:chat_message_id>/edit/", views.chat_message_edit, name="chat_message_edit"),
    path("chat/messages/<int:chat_message_id>/recall/", views.chat_message_recall, name="chat_message_recall"),
    # work instructions
    path("instructions/", views.instructions, name="instructions"),
    path("instructions/new/", views.instruction_new, name="instruction_new"),
    path("instructions/<int:instruction_id>/", views.instruction, name="instruction"),
    path("instructions/<int:instruction_id>/board/", views.instruction_board, name="instruction_board"),
    path("instructions/<int:instruction_id>/ack/", views.instruction_ack, name="instruction_ack"),
]
